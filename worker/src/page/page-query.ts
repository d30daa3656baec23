/**
 * The live page's query string: the search form's fields and the pages'
 * cursors. A form sends its empty fields too, so an empty field means no
 * filter; a bad value is checked like the API checks it, and its message is
 * shown beside its field instead of a JSON error. Other parameters are
 * ignored: links pasted with tracking tags still open the page.
 */
import { MAX_PAGE_LIMIT, ProtocolFailure, checkDigest, checkQuery, checkUserName, readFileCursor, readUserCursor } from "@p2p/shared";
import type { PageQuery } from "../tracker/page-view.ts";

/** What the form shows again: the fields as typed (trimmed). */
export interface PageForm {
  user: string;
  q: string;
  root: string;
  limit: string;
}

export interface ReadPage {
  form: PageForm;
  /** Null when a field is bad: the page shows no files, and says why. */
  query: PageQuery | null;
  /** Field name → what is wrong with it. */
  errors: Partial<Record<keyof PageForm | "cursor", string>>;
}

/** Choices the form offers for files per page. */
export const PAGE_SIZES = [50, 100, 200, 500] as const;
const MAX_FILES_PER_PAGE = Math.min(1000, MAX_PAGE_LIMIT);

export function readPageQuery(params: URLSearchParams): ReadPage {
  const field = (name: string) => (params.get(name) ?? "").trim();
  const form: PageForm = { user: field("user"), q: field("q"), root: field("root"), limit: field("limit") };
  const errors: ReadPage["errors"] = {};
  const query: PageQuery = { files: {} };
  const check = (name: keyof ReadPage["errors"], read: () => void) => {
    try {
      read();
    } catch (error) {
      if (!(error instanceof ProtocolFailure)) throw error;
      errors[name] = error.message;
    }
  };
  if (form.user !== "") check("user", () => (query.files.user = checkUserName(form.user)));
  if (form.q !== "") check("q", () => (query.files.q = checkQuery(form.q)));
  // A digest pasted from elsewhere may be in capitals.
  if (form.root !== "") check("root", () => (query.files.root = checkDigest(form.root.toLowerCase())));
  if (form.limit !== "") {
    const limit = /^[0-9]{1,4}$/.test(form.limit) ? Number(form.limit) : NaN;
    if (limit >= 1 && limit <= MAX_FILES_PER_PAGE) query.files.limit = limit;
    else errors.limit = `files per page must be a whole number from 1 to ${MAX_FILES_PER_PAGE}`;
  }
  const cursor = params.get("cursor");
  if (cursor) check("cursor", () => (readFileCursor(cursor), (query.files.cursor = cursor)));
  const usersCursor = params.get("users");
  if (usersCursor) check("cursor", () => (readUserCursor(usersCursor), (query.usersCursor = usersCursor)));
  return { form, query: Object.keys(errors).length === 0 ? query : null, errors };
}

/** The page's address with these parameters (empty ones left out), for links that keep the search. */
export function pageHref(form: PageForm, extra: Record<string, string | undefined> = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries({ ...form, ...extra })) if (value) params.set(key, value);
  const text = params.toString();
  return text === "" ? "/" : `/?${text}`;
}
