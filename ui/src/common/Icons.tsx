// Small inline icons (stroke follows the text colour).
const base = { width: 16, height: 16, viewBox: "0 0 16 16", fill: "none", stroke: "currentColor", strokeWidth: 1.4, "aria-hidden": true } as const;

export function TableIcon({ size = 16 }: { size?: number }) {
  return (
    <svg {...base} width={size} height={size}>
      <rect x="1.5" y="2.5" width="13" height="11" rx="1.5" />
      <path d="M1.5 6h13M1.5 9.5h13M6 6v7.5" />
    </svg>
  );
}

export function GearIcon({ size = 16 }: { size?: number }) {
  return (
    <svg {...base} width={size} height={size}>
      <circle cx="8" cy="8" r="2.2" />
      <path d="M8 1.5v2M8 12.5v2M1.5 8h2M12.5 8h2M3.4 3.4l1.4 1.4M11.2 11.2l1.4 1.4M3.4 12.6l1.4-1.4M11.2 4.8l1.4-1.4" />
    </svg>
  );
}

export function ColumnIcon({ size = 16 }: { size?: number }) {
  return (
    <svg {...base} width={size} height={size}>
      <rect x="5" y="1.5" width="6" height="13" rx="1.2" />
      <path d="M5 5.5h6M5 9h6" />
    </svg>
  );
}

export function SearchIcon({ size = 16 }: { size?: number }) {
  return (
    <svg {...base} width={size} height={size}>
      <circle cx="7" cy="7" r="4.5" />
      <path d="M10.5 10.5l4 4" />
    </svg>
  );
}

export function LineageLogo() {
  return (
    <svg width="22" height="22" viewBox="0 0 22 22" fill="none" aria-hidden="true">
      <rect x="1" y="8" width="6" height="6" rx="1.5" fill="#3b6fd8" />
      <rect x="15" y="2" width="6" height="6" rx="1.5" fill="#7a97d6" />
      <rect x="15" y="14" width="6" height="6" rx="1.5" fill="#7a97d6" />
      <path d="M7 11h4m0 0V5h4m-4 6v6h4" stroke="#3b6fd8" strokeWidth="1.5" />
    </svg>
  );
}

export function KindIcon({ kind, size }: { kind: "dataset" | "job" | "column"; size?: number }) {
  if (kind === "job") return <GearIcon size={size} />;
  if (kind === "column") return <ColumnIcon size={size} />;
  return <TableIcon size={size} />;
}

export function LockIcon({ size = 12 }: { size?: number }) {
  return (
    <svg {...base} width={size} height={size} strokeWidth={1.8}>
      <rect x="3" y="7" width="10" height="7.5" rx="1.5" />
      <path d="M5.2 7V5a2.8 2.8 0 0 1 5.6 0v2" />
    </svg>
  );
}
