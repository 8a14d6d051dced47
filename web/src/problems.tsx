import type { CombinedError } from "urql";

/** What a person can do about a failed request, in words. */
export function errorText(error: CombinedError): string {
  if (error.networkError) {
    return "The server could not be reached. Check your connection and try again.";
  }
  const first = error.graphQLErrors[0];
  const code = first?.extensions?.code;
  if (code === "RATE_LIMITED" || /rate limit|too many/i.test(first?.message ?? "")) {
    return "Too many requests just now. Wait a moment and try again.";
  }
  return first?.message ?? error.message;
}

interface FieldError {
  field: string;
  message: string;
}

export interface Answer {
  __typename?: string;
  message?: string;
  fields?: FieldError[];
  retryAfterSeconds?: number;
}

/** A mutation's expected failure as a sentence (null for a success). */
export function problemText(answer: Answer | null | undefined): string | null {
  if (!answer) return "No answer from the server. Try again.";
  if (!("message" in answer) || answer.message == null) return null;
  if (answer.__typename === "ValidationFailed" && answer.fields?.length) {
    return answer.fields.map((f) => `${f.field}: ${f.message}`).join(" ");
  }
  if (answer.__typename === "Forbidden") {
    return `${answer.message}`;
  }
  if (answer.retryAfterSeconds != null) {
    return `${answer.message} Try again in ${answer.retryAfterSeconds} s.`;
  }
  return answer.message;
}

export function Alert({ children }: { children: string | null | undefined }) {
  if (!children) return null;
  return (
    <p className="alert" role="alert">
      {children}
    </p>
  );
}
