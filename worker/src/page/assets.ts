/**
 * The page's style sheet and script, served from the worker under names
 * that carry a hash of their text: a browser keeps them for good, and a new
 * deploy changes the name. They hold nothing private, so the sign-in page
 * can use them before a token is given.
 */
import { fnv1a32 } from "@p2p/shared";
import { LIVE_SCRIPT } from "./live-script.ts";
import { STYLES } from "./styles.ts";

export interface Asset {
  href: string;
  type: string;
  body: string;
}

/** 32 bits: enough to tell one version of a file from the next. */
const shortHash = (text: string): string => fnv1a32(text).toString(16).padStart(8, "0");

const asset = (name: string, ext: string, type: string, body: string): Asset => ({ href: `/assets/${name}.${shortHash(body)}.${ext}`, type, body });

export const STYLE_SHEET = asset("page", "css", "text/css; charset=utf-8", STYLES);
export const SCRIPT = asset("live", "js", "text/javascript; charset=utf-8", LIVE_SCRIPT);

const byPath = new Map([STYLE_SHEET, SCRIPT].map((a) => [a.href, a]));

export const assetAt = (path: string): Asset | undefined => byPath.get(path);
