/** Where a browser gives the tracker's token (P2P_TOKEN), which is then kept in a cookie. */
import { Layout } from "./layout.tsx";

export function SignInPage({ problem }: { problem: string }) {
  return (
    <Layout title="Tracker: sign in">
      <main>
        <h2>This tracker needs its access token</h2>
        <p class="errors" role="alert">
          {problem}
        </p>
        <form class="search" method="post" action="/login">
          <div>
            <label for="token">Access token</label>
            <input id="token" name="token" type="password" required autocomplete="current-password" autofocus />
          </div>
          <div class="actions">
            <button type="submit">Sign in</button>
          </div>
        </form>
        <p>The token is kept in this browser as a cookie the page's scripts cannot read, and goes only to this tracker.</p>
      </main>
    </Layout>
  );
}
