/** "428 BCE", "1781 CE". */
export function year(value: number): string {
  return value < 0 ? `${-value} BCE` : `${value} CE`;
}

/** A concept's period: "427 BCE – 347 BCE", "from 1927 CE", "" when unknown. */
export function era(from: number | null | undefined, to: number | null | undefined): string {
  if (from == null && to == null) return "";
  if (from != null && to != null) return from === to ? year(from) : `${year(from)} – ${year(to)}`;
  return from != null ? `from ${year(from)}` : `until ${year(to!)}`;
}

export interface Piece {
  text: string;
  matched: boolean;
}

/** Split a search highlight ("the «will» to power") into plain and matched pieces. */
export function highlightPieces(highlight: string): Piece[] {
  const pieces: Piece[] = [];
  const pattern = /«([^»]*)»/g;
  let last = 0;
  let match: RegExpExecArray | null;
  while ((match = pattern.exec(highlight)) !== null) {
    if (match.index > last) pieces.push({ text: highlight.slice(last, match.index), matched: false });
    pieces.push({ text: match[1], matched: true });
    last = match.index + match[0].length;
  }
  if (last < highlight.length) pieces.push({ text: highlight.slice(last), matched: false });
  return pieces;
}

/** "INFLUENCED_BY" → "influenced by". */
export function relationLabel(type: string): string {
  return type.toLowerCase().replace(/_/g, " ");
}

const PALETTE = [
  "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
  "#17becf", "#ff7f0e", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd",
];

/** A stable colour per tradition (grey when there is none). */
export function traditionColour(tradition: string | null | undefined): string {
  if (!tradition) return "#9e9e9e";
  let hash = 0;
  for (const char of tradition) hash = (hash * 31 + char.codePointAt(0)!) >>> 0;
  return PALETTE[hash % PALETTE.length];
}
