import { lazy, Suspense, useSyncExternalStore } from "react";
import { useMutation } from "urql";
import { AdminPage } from "./AdminPage";
import { SignInPage } from "./AuthPages";
import { auth, canEdit } from "./auth";
import { ConceptPage } from "./ConceptPage";
import { EditConceptPage, NewConceptPage } from "./EditConcept";
import { Logout } from "./operations";
import { PathPage } from "./PathPage";
import { Link, navigate, useRoute } from "./router";
import { SearchPage } from "./SearchPage";

const GraphPage = lazy(() => import("./GraphPage").then((m) => ({ default: m.GraphPage })));

function Page() {
  const { path } = useRoute();
  const concept = /^\/concepts\/([^/]+)(\/edit|\/graph)?$/.exec(path);
  if (concept) {
    const slug = decodeURIComponent(concept[1]);
    if (concept[2] === "/edit") return <EditConceptPage slug={slug} />;
    if (concept[2] === "/graph") return <GraphPage slug={slug} />;
    return <ConceptPage key={slug} slug={slug} />;
  }
  switch (path) {
    case "":
      return <SearchPage />;
    case "/path":
      return <PathPage />;
    case "/new":
      return <NewConceptPage />;
    case "/signin":
      return <SignInPage signUp={false} />;
    case "/signup":
      return <SignInPage signUp />;
    case "/admin":
      return <AdminPage />;
    default:
      return (
        <section>
          <h1>Not found</h1>
          <p>
            Nothing lives at this address. <Link to="/">Start from the search</Link>.
          </p>
        </section>
      );
  }
}

function Account() {
  const session = useSyncExternalStore(auth.subscribe, auth.current);
  const [, logout] = useMutation(Logout);
  if (!session.user) {
    return (
      <>
        <Link to="/signin">Sign in</Link>
        <Link to="/signup">Sign up</Link>
      </>
    );
  }
  return (
    <>
      {canEdit(session.user) && <Link to="/new">New concept</Link>}
      {session.user.role === "ADMIN" && <Link to="/admin">Accounts</Link>}
      <span className="who">
        {session.user.displayName} <span className="meta">({session.user.role.toLowerCase()})</span>
      </span>
      <button
        type="button"
        className="link"
        onClick={async () => {
          const token = auth.storedRefreshToken();
          auth.signedOut();
          if (token) await logout({ refreshToken: token });
          navigate("/");
        }}
      >
        Sign out
      </button>
    </>
  );
}

export function App() {
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <Link to="/" className="brand">
          Philos
        </Link>
        <nav aria-label="Main">
          <Link to="/">Search</Link>
          <Link to="/path">Path finder</Link>
          <a href="/graphql">GraphiQL</a>
        </nav>
        <nav aria-label="Account" className="account">
          <Account />
        </nav>
      </header>
      <main id="main" tabIndex={-1}>
        <Suspense fallback={<p aria-busy="true">Loading…</p>}>
          <Page />
        </Suspense>
      </main>
    </>
  );
}
