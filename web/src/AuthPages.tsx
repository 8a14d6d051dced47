import { useState } from "react";
import { useMutation } from "urql";
import { auth, type Tokens } from "./auth";
import { Login, Register } from "./operations";
import { Alert, errorText, problemText } from "./problems";
import { Link, navigate } from "./router";

export function SignInPage({ signUp }: { signUp: boolean }) {
  const [, register] = useMutation(Register);
  const [, login] = useMutation(Login);
  const [message, setMessage] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <form
      className="stack-form auth-form"
      onSubmit={async (event) => {
        event.preventDefault();
        setBusy(true);
        const data = new FormData(event.currentTarget);
        const email = String(data.get("email"));
        const password = String(data.get("password"));
        const result = signUp
          ? await register({ email, password, displayName: String(data.get("displayName")) })
          : await login({ email, password });
        setBusy(false);
        if (result.error) return setMessage(errorText(result.error));
        const answer = result.data && ("register" in result.data ? result.data.register : result.data.login);
        if (answer?.__typename === "AuthSuccess") {
          auth.signedIn(answer as Tokens);
          navigate("/");
          return;
        }
        setMessage(problemText(answer));
      }}
    >
      <h1>{signUp ? "Create an account" : "Sign in"}</h1>
      {signUp && (
        <label>
          Display name <input name="displayName" required autoComplete="nickname" />
        </label>
      )}
      <label>
        Email <input name="email" type="email" required autoComplete="email" />
      </label>
      <label>
        Password
        {signUp && <span className="meta"> (at least 10 characters, hard to guess)</span>}
        <input name="password" type="password" required autoComplete={signUp ? "new-password" : "current-password"} />
      </label>
      <Alert>{message}</Alert>
      <button type="submit" disabled={busy}>
        {signUp ? "Sign up" : "Sign in"}
      </button>
      <p>
        {signUp ? (
          <>
            Have an account? <Link to="/signin">Sign in</Link>
          </>
        ) : (
          <>
            New here? <Link to="/signup">Create an account</Link>
          </>
        )}
      </p>
    </form>
  );
}
