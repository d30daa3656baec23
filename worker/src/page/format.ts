/** How the live page writes numbers, sizes, spans of time and addresses. */

const counts = new Intl.NumberFormat("en");

export const count = (n: number): string => counts.format(n);

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

/** 1536 → "1.5 KiB": three significant digits at most, whole bytes below a KiB. */
export function bytes(n: number): string {
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${n} B`;
  return `${value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2)} ${UNITS[unit]}`;
}

/** 93784 s → "1 d 2 h", 125 s → "2 min 5 s": the two largest units. */
export function duration(seconds: number): string {
  const parts: [number, string][] = [
    [Math.floor(seconds / 86_400), "d"],
    [Math.floor(seconds / 3600) % 24, "h"],
    [Math.floor(seconds / 60) % 60, "min"],
    [seconds % 60, "s"],
  ];
  const first = parts.findIndex(([n]) => n > 0);
  if (first === -1) return "0 s";
  return parts
    .slice(first, first + 2)
    .filter(([n]) => n > 0)
    .map(([n, unit]) => `${n} ${unit}`)
    .join(" ");
}

/** host:port, with an IPv6 literal in brackets as a URL writes it. */
export const address = (host: string, port: number): string => (host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`);

/** The last segment of a path, where the name a person searches for is. */
export function baseName(path: string): string {
  const cut = path.replace(/[\\/]+$/, "");
  const slash = Math.max(cut.lastIndexOf("/"), cut.lastIndexOf("\\"));
  return slash === -1 ? cut : cut.slice(slash + 1);
}
