/**
 * The live page: totals, the search form, a page of files and a page of
 * online users. Everything is rendered here, on the server, so the page is
 * whole without JavaScript; the script only fetches it again and swaps the
 * parts marked `data-live` (live-script.ts).
 */
import type { FileListing, Reachable } from "@p2p/shared";
import type { Child } from "hono/jsx";
import { DEFAULT_FILES_PER_PAGE, type PageUser, type PageView } from "../tracker/page-view.ts";
import { address, baseName, bytes, count, duration } from "./format.ts";
import { Layout } from "./layout.tsx";
import { PAGE_SIZES, pageHref, type PageForm, type ReadPage } from "./page-query.ts";

export interface TrackerPageProps {
  read: ReadPage;
  view: PageView;
  /** The tracker needs a token, so the page offers to sign out. */
  signedIn: boolean;
}

export function TrackerPage({ read, view, signedIn }: TrackerPageProps) {
  const { stats } = view;
  const title = `Tracker: ${count(stats.users)} ${stats.users === 1 ? "user" : "users"} online, ${count(stats.files)} ${stats.files === 1 ? "file" : "files"}`;
  return (
    // A search with a bad field is answered 400: that page does not follow changes (it would fetch a 400 each time).
    <Layout title={title} version={read.query === null ? undefined : view.told}>
      <main>
        <Totals view={view} />
        <Users read={read} view={view} />
        <SearchForm read={read} />
        <Files read={read} view={view} />
      </main>
      <footer id="about" data-live>
        <p>
          {stats.startedAt !== null && <>Started {new Date(stats.startedAt).toUTCString()} · </>}JSON: <a href="/api/stats">stats</a>,{" "}
          <a href="/api/users">users</a>, <a href="/api/files?limit=100">files</a>
        </p>
        {signedIn && (
          <form method="post" action="/logout">
            <button type="submit">Sign out</button>
          </form>
        )}
      </footer>
    </Layout>
  );
}

function Totals({ view }: { view: PageView }) {
  const { stats } = view;
  const tiles: [string, string, string?][] = [
    ["Users online", count(stats.users)],
    ["Files", count(stats.files)],
    ["Offered", bytes(stats.bytes), `${count(stats.bytes)} bytes, counting each holder`],
    ["Distinct contents", count(stats.contents), "different content roots"],
    ["Up for", stats.uptimeSeconds === null ? "unknown" : duration(stats.uptimeSeconds), "since the tracker last started"],
    ["Version", stats.version, "moves with every change; a restart starts a new epoch (before the dash)"],
  ];
  return (
    <section id="totals" data-live aria-labelledby="totals-heading">
      <h2 id="totals-heading" class="visually-hidden">
        Totals
      </h2>
      <dl class="totals">
        {tiles.map(([label, value, hint]) => (
          <div title={hint}>
            <dt>{label}</dt>
            <dd class={label === "Version" ? "small" : undefined}>{value}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}

function SearchForm({ read }: { read: ReadPage }) {
  const { form, errors } = read;
  const field = (name: "user" | "q" | "root", label: string, props: Record<string, string>) => (
    <div>
      <label for={name}>{label}</label>
      <input
        id={name}
        name={name}
        type="search"
        value={form[name]}
        aria-invalid={errors[name] ? "true" : undefined}
        aria-describedby={errors[name] ? `${name}-error` : undefined}
        {...props}
      />
      {errors[name] && (
        <p id={`${name}-error`} class="field-error">
          {errors[name]}
        </p>
      )}
    </div>
  );
  return (
    <form class="search" role="search" method="get" action="/" aria-label="Search the files">
      {field("q", "File name or path contains", { placeholder: "e.g. report.pdf", maxlength: "256", autocomplete: "off" })}
      {field("user", "User (exact name)", { placeholder: "e.g. Alice", maxlength: "64", autocomplete: "off", spellcheck: "false" })}
      {field("root", "SHA-256 content root", { placeholder: "64 hex digits", maxlength: "64", autocomplete: "off", spellcheck: "false" })}
      <div>
        <label for="limit">Files per page</label>
        <select id="limit" name="limit">
          {pageSizes(read).map((size) => (
            <option value={String(size)} selected={form.limit === String(size) || (form.limit === "" && size === DEFAULT_FILES_PER_PAGE)}>
              {size}
            </option>
          ))}
        </select>
        {errors.limit && <p class="field-error">{errors.limit}</p>}
      </div>
      <div class="actions">
        <button type="submit">Search</button>
        <a href="/">Clear</a>
      </div>
      {errors.cursor && (
        <p class="errors" role="alert">
          This link's page marker is damaged ({errors.cursor}). <a href={pageHref(form)}>Start from the first page</a>.
        </p>
      )}
    </form>
  );
}

/** The usual choices, and the one a link asked for if it is another, so the next search keeps it. */
function pageSizes(read: ReadPage): number[] {
  const asked = read.query?.files.limit;
  const sizes: number[] = [...PAGE_SIZES];
  return asked === undefined || sizes.includes(asked) ? sizes : [...sizes, asked].sort((a, b) => a - b);
}

function describeSearch(form: PageForm): string {
  const parts = [form.q && `names containing “${form.q}”`, form.user && `offered by ${form.user}`, form.root && `with root ${form.root.slice(0, 12)}…`];
  return parts.filter(Boolean).join(", ");
}

function Files({ read, view }: { read: ReadPage; view: PageView }) {
  const { form } = read;
  const searching = describeSearch(form);
  const files = read.query === null ? [] : view.files;
  const first = view.offset === null ? null : view.offset + 1;
  return (
    <section id="files" data-live aria-labelledby="files-heading">
      <h2 id="files-heading">
        Files {searching && <small>{searching}</small>}
      </h2>
      {read.query === null ? (
        <p class="errors" role="alert">
          Fix the search above to see files.
        </p>
      ) : files.length === 0 && view.filesNext === null ? (
        <p class="empty">{searching ? "No file matches this search." : "No files are offered yet."}</p>
      ) : (
        files.length > 0 && (
          <Table columns={[["File"], ["User"], ["Size", true], ["Content root"]]}>
            {files.map((file) => (
              <FileRow file={file} form={form} />
            ))}
          </Table>
        )
      )}
      {read.query !== null && (
        <p class="pager">
          {first !== null && view.total !== null && (
            <span>
              {count(first)}–{count(first + files.length - 1)} of {count(view.total)}
            </span>
          )}
          {view.offset === null && files.length > 0 && <span>{count(files.length)} shown</span>}
          {read.query.files.cursor !== undefined && <a href={pageHref(form, { users: read.query.usersCursor })}>First page</a>}
          {view.filesNext !== null && (
            <a href={pageHref(form, { cursor: view.filesNext, users: read.query.usersCursor })} rel="next">
              {files.length < (read.query.files.limit ?? DEFAULT_FILES_PER_PAGE) ? "Search further →" : "Next page →"}
            </a>
          )}
        </p>
      )}
    </section>
  );
}

function FileRow({ file, form }: { file: FileListing; form: PageForm }) {
  const name = baseName(file.path);
  const dir = file.path.slice(0, file.path.length - name.length);
  return (
    <tr>
      <td class="path">
        <span class="name">{name || file.path}</span>
        {name && <span class="dir">{dir}</span>}
      </td>
      <td>
        <a href={pageHref({ ...form, user: file.user }, {})}>{file.user}</a>
      </td>
      <td class="num" title={`${count(file.size)} bytes`}>
        {bytes(file.size)}
      </td>
      <td>
        <a href={pageHref({ user: "", q: "", root: file.root, limit: form.limit })} title={`Every holder of ${file.root}`}>
          <code class="root">{file.root}</code>
        </a>
      </td>
    </tr>
  );
}

/** A table in its scrolling frame (tables scroll sideways on a phone, the page does not); `true` right-aligns a column of numbers. */
function Table({ columns, children }: { columns: [string, boolean?][]; children: Child }) {
  return (
    <div class="table-wrap">
      <table>
        <thead>
          <tr>
            {columns.map(([label, numeric]) => (
              <th scope="col" class={numeric ? "num" : undefined}>
                {label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

const REACHABLE: Record<string, [string, string]> = {
  true: ["yes", "Yes"],
  false: ["no", "No"],
  null: ["unknown", "Not known"],
};

const reachableCell = (reachable: Reachable) => {
  const [cls, text] = REACHABLE[String(reachable)]!;
  return <span class={cls}>{text}</span>;
};

function Users({ read, view }: { read: ReadPage; view: PageView }) {
  const { form } = read;
  const cursor = read.query?.files.cursor;
  return (
    <section id="users" data-live aria-labelledby="users-heading">
      <h2 id="users-heading">
        Online users <small>{count(view.stats.users)}</small>
      </h2>
      {view.users.length === 0 ? (
        <p class="empty">No one is online.</p>
      ) : (
        <Table columns={[["User"], ["Address"], ["Reachable"], ["Files", true]]}>
          {view.users.map((user: PageUser) => (
            <tr>
              <td>
                <a href={pageHref({ ...form, user: user.user })}>{user.user}</a>
              </td>
              <td>
                <code>{address(user.host, user.port)}</code>
              </td>
              <td>{reachableCell(user.reachable)}</td>
              <td class="num">{count(user.files)}</td>
            </tr>
          ))}
        </Table>
      )}
      {(view.usersNext !== null || read.query?.usersCursor !== undefined) && (
        <p class="pager">
          {read.query?.usersCursor !== undefined && <a href={pageHref(form, { cursor })}>First users</a>}
          {view.usersNext !== null && (
            <a href={pageHref(form, { cursor, users: view.usersNext })} rel="next">
              More users →
            </a>
          )}
        </p>
      )}
    </section>
  );
}
