/** The live page's style sheet: one small file, readable on a phone, light or dark as the system is. */
export const STYLES = `
:root {
  color-scheme: light dark;
  --bg: #f7f7f5; --fg: #1c1c1a; --muted: #5d5d58; --card: #fff; --line: #deded8;
  --accent: #1f5fbf; --ok: #1d7a38; --bad: #b3261e; --warn: #8a5a00;
  font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
@media (prefers-color-scheme: dark) {
  :root { --bg: #151513; --fg: #ececE6; --muted: #a6a69e; --card: #1f1f1c; --line: #393934;
    --accent: #7fb0ff; --ok: #6bd18a; --bad: #ff8a80; --warn: #f0c060; }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); }
a { color: var(--accent); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
header, main, footer { max-width: 72rem; margin: 0 auto; padding: 0 1rem; }
header { display: flex; flex-wrap: wrap; align-items: baseline; justify-content: space-between; gap: .5rem 1rem; padding-top: 1rem; }
h1 { font-size: 1.4rem; margin: 0; }
h2 { font-size: 1.15rem; margin: 1.5rem 0 .5rem; }
h2 small { font-weight: normal; color: var(--muted); font-size: .9rem; }
.status { margin: 0; font-size: .95rem; padding: .15rem .6rem; border-radius: 1rem; border: 1px solid var(--line); }
.status::before { content: "● "; }
.status[data-state="live"] { color: var(--ok); }
.status[data-state="lost"] { color: var(--bad); border-color: var(--bad); }
.status[data-state="static"], .status[data-state="connecting"] { color: var(--muted); }
.totals { display: grid; grid-template-columns: repeat(auto-fit, minmax(9.5rem, 1fr)); gap: .6rem; margin: 1rem 0 0; padding: 0; }
.totals div { background: var(--card); border: 1px solid var(--line); border-radius: .5rem; padding: .6rem .8rem; }
.totals dt { color: var(--muted); font-size: .85rem; }
.totals dd { margin: 0; font-size: 1.35rem; font-weight: 600; overflow-wrap: anywhere; }
.totals dd.small { font-size: 1rem; font-weight: normal; }
form.search { display: grid; grid-template-columns: repeat(auto-fit, minmax(12rem, 1fr)); gap: .6rem 1rem; align-items: end;
  background: var(--card); border: 1px solid var(--line); border-radius: .5rem; padding: .8rem; margin-top: 1rem; }
form.search label { display: block; font-size: .9rem; color: var(--muted); margin-bottom: .2rem; }
form.search input, form.search select { width: 100%; font: inherit; padding: .45rem .55rem; border: 1px solid var(--line); border-radius: .35rem; background: var(--bg); color: var(--fg); }
form.search input[aria-invalid="true"] { border-color: var(--bad); }
.actions { display: flex; gap: .6rem; align-items: center; }
button { font: inherit; padding: .45rem 1rem; border-radius: .35rem; border: 1px solid var(--accent); background: var(--accent); color: var(--bg); cursor: pointer; }
.field-error, .errors { color: var(--bad); font-size: .9rem; margin: .25rem 0 0; }
.errors { border: 1px solid var(--bad); border-radius: .35rem; padding: .5rem .8rem; }
.table-wrap { overflow-x: auto; background: var(--card); border: 1px solid var(--line); border-radius: .5rem; }
table { border-collapse: collapse; width: 100%; font-size: .95rem; }
th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; font-size: .85rem; }
tr:last-child td { border-bottom: 0; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.path { overflow-wrap: anywhere; min-width: 12rem; }
td.path .name { font-weight: 600; }
td.path .dir { color: var(--muted); font-size: .85rem; display: block; }
code.root { font-size: .85rem; display: inline-block; max-width: 9rem; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; vertical-align: bottom; }
.yes { color: var(--ok); } .no { color: var(--bad); } .unknown { color: var(--muted); }
.pager { display: flex; flex-wrap: wrap; gap: .5rem 1.2rem; align-items: center; margin: .5rem 0 0; color: var(--muted); font-size: .95rem; }
.empty { padding: .8rem; color: var(--muted); margin: 0; }
footer { color: var(--muted); font-size: .85rem; padding-top: 1.5rem; padding-bottom: 2rem; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
@media (max-width: 40rem) {
  :root { font-size: 15px; }
  th.hide-narrow, td.hide-narrow { display: none; }
  code.root { max-width: 5.5rem; }
}
`;
