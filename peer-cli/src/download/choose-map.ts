/**
 * Which piece map to trust. The registered SHA-256 cannot vouch for piece
 * hashes by itself, so sources are compared: maps for the wrong content are
 * refused, and among the rest the one most sources agree on wins (an earlier
 * interrupted download's map counts first, then the named user's).
 * The assembled file is still checked against the SHA-256 at the end.
 */
import { sameMap, type PieceMap } from "./piece-map.ts";

export interface Candidate<S> {
  source: S;
  map: PieceMap;
}

export function chooseMap<S>(
  candidates: readonly Candidate<S>[],
  expected: { size: number; sha256: string } | undefined,
  earlier: PieceMap | null,
): { map: PieceMap; agree: S[]; disagree: { source: S; reason: string }[] } | undefined {
  const disagree: { source: S; reason: string }[] = [];
  const fitting = candidates.filter((c) => {
    const fits = !expected || (c.map.size === expected.size && c.map.sha256 === expected.sha256);
    if (!fits) disagree.push({ source: c.source, reason: "offers different content than registered (size or SHA-256 differ)" });
    return fits;
  });
  const groups: { map: PieceMap; members: S[] }[] = [];
  if (earlier && (!expected || (earlier.size === expected.size && earlier.sha256 === expected.sha256))) {
    groups.push({ map: earlier, members: [] });
  }
  for (const { source, map } of fitting) {
    const group = groups.find((g) => sameMap(g.map, map));
    if (group) group.members.push(source);
    else groups.push({ map, members: [source] });
  }
  // Stable sort: ties keep the earlier map, then the named user's (candidates come in that order).
  const best = groups.filter((g) => g.members.length > 0).sort((a, b) => b.members.length - a.members.length)[0];
  if (!best) return undefined;
  for (const group of groups) {
    if (group === best) continue;
    for (const source of group.members) disagree.push({ source, reason: "its piece map disagrees with the other sources" });
  }
  return { map: best.map, agree: best.members, disagree };
}
