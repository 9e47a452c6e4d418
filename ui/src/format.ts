// Human-readable times, durations and names.

export function relativeTime(iso: string | null | undefined, now: number = Date.now()): string {
  if (!iso) return "—";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const s = Math.round((now - t) / 1000);
  const future = s < 0;
  const a = Math.abs(s);
  let text: string;
  if (a < 45) text = `${a} s`;
  else if (a < 45 * 60) text = `${Math.round(a / 60)} min`;
  else if (a < 36 * 3600) text = `${Math.round(a / 3600)} h`;
  else if (a < 60 * 86400) text = `${Math.round(a / 86400)} d`;
  else if (a < 730 * 86400) text = `${Math.round(a / (30 * 86400))} mo`;
  else text = `${Math.round(a / (365 * 86400))} y`;
  return future ? `in ${text}` : `${text} ago`;
}

export function fullTime(iso: string | null | undefined): string {
  if (!iso) return "—";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const d = new Date(t);
  return `${d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" })} (${iso})`;
}

export function shortTime(iso: string | null | undefined): string {
  if (!iso) return "—";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  return new Date(t).toLocaleString(undefined, { dateStyle: "short", timeStyle: "medium" });
}

export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`;
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  if (m < 60) return s ? `${m} min ${s} s` : `${m} min`;
  const h = Math.floor(m / 60);
  return `${h} h ${m % 60} min`;
}

export function plural(n: number, one: string, many: string = `${one}s`): string {
  return `${n.toLocaleString()} ${n === 1 ? one : many}`;
}

/** Formats single-line SQL onto several lines at its main clauses; multi-line SQL is kept as written. */
export function formatSql(sql: string): string {
  const trimmed = sql.trim();
  if (trimmed.includes("\n")) return trimmed;
  const clauses = [
    "with", "select", "from", "left join", "right join", "inner join", "full join", "cross join", "join",
    "where", "group by", "having", "order by", "limit", "union all", "union", "insert into", "values", "on conflict",
  ];
  let out = trimmed;
  for (const c of clauses) {
    const re = new RegExp(`\\s+(${c.replace(/ /g, "\\s+")})\\b`, "gi");
    out = out.replace(re, (_m, kw: string) => `\n${kw}`);
  }
  return out
    .split("\n")
    .map((line) => line.replace(/,\s*(?![^()]*\))/g, ",\n    "))
    .join("\n");
}
