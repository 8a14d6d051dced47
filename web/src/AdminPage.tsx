import { useState, useSyncExternalStore } from "react";
import { useMutation, useQuery } from "urql";
import { auth, type Role } from "./auth";
import { SetUserRole, Users } from "./operations";
import { Alert, errorText, problemText } from "./problems";
import { Link } from "./router";
import { useDebounced } from "./useDebounced";

const ROLES: Role[] = ["READER", "EDITOR", "ADMIN"];

export function AdminPage() {
  const session = useSyncExternalStore(auth.subscribe, auth.current);
  const [text, setText] = useState("");
  const search = useDebounced(text.trim(), 150);
  const [result, refetch] = useQuery({
    query: Users,
    variables: { search: search || null },
    pause: session.user?.role !== "ADMIN",
    requestPolicy: "network-only",
  });
  const [, setRole] = useMutation(SetUserRole);
  const [message, setMessage] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  if (session.user?.role !== "ADMIN") {
    return (
      <section>
        <h1>Accounts</h1>
        <p>
          Only an administrator manages accounts. <Link to="/signin">Sign in</Link> as one.
        </p>
      </section>
    );
  }
  const answer = result.data?.users;
  const accounts = answer?.__typename === "AccountList" ? answer.accounts : [];
  return (
    <section>
      <h1>Accounts</h1>
      <label htmlFor="account-search">Find by email or name</label>
      <input id="account-search" type="search" value={text} onChange={(e) => setText(e.target.value)} />
      <Alert>{result.error ? errorText(result.error) : answer && answer.__typename !== "AccountList" ? answer.message : message}</Alert>
      {notice && <p role="status">{notice}</p>}
      <table className="accounts">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Email</th>
            <th scope="col">Role</th>
          </tr>
        </thead>
        <tbody>
          {accounts.map((account) => (
            <tr key={account.id}>
              <td>{account.displayName}</td>
              <td>{account.email}</td>
              <td>
                <select
                  aria-label={`Role of ${account.email}`}
                  value={account.role}
                  disabled={account.id === session.user?.id}
                  onChange={async (event) => {
                    setNotice(null);
                    const role = event.target.value as Role;
                    const changed = await setRole({ userId: account.id, role });
                    if (changed.error) return setMessage(errorText(changed.error));
                    const problem = problemText(changed.data?.setUserRole);
                    setMessage(problem);
                    if (!problem) {
                      setNotice(`${account.email} is now ${role.toLowerCase()}; it takes effect at their next sign-in or token refresh.`);
                      refetch({ requestPolicy: "network-only" });
                    }
                  }}
                >
                  {ROLES.map((r) => (
                    <option key={r} value={r}>
                      {r.toLowerCase()}
                    </option>
                  ))}
                </select>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {answer?.__typename === "AccountList" && accounts.length === 0 && <p>No account matches.</p>}
    </section>
  );
}
