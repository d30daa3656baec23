/** The document around every page: head, assets, and the header with the live status. */
import type { Child } from "hono/jsx";
import { SCRIPT, STYLE_SHEET } from "./assets.ts";

export interface LayoutProps {
  title: string;
  /** The version the page was rendered at, for the script's pings; absent on pages that do not follow changes. */
  version?: string;
  children: Child;
}

export function Layout({ title, version, children }: LayoutProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        <title>{title}</title>
        {/* No favicon request, which would be one more 404. */}
        <link rel="icon" href="data:," />
        <link rel="stylesheet" href={STYLE_SHEET.href} />
        {version !== undefined && <script src={SCRIPT.href} defer />}
      </head>
      <body data-version={version}>
        <header>
          <h1>p2p-exchange tracker</h1>
          {version !== undefined && (
            <p id="live-status" class="status" role="status" aria-live="polite" data-state="static">
              Not live: reload to see changes
            </p>
          )}
        </header>
        {children}
      </body>
    </html>
  );
}
