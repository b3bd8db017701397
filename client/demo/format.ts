/**
 * Number formatting for the dashboard. Byte units are decimal (1 MB = 1e6 bytes), as in the
 * brief and in network rates.
 */

const INTEGER = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

/** 50000000 -> "50,000,000". */
export function formatInteger(value: number): string {
  return INTEGER.format(value);
}

/** Byte length in B, kB, MB or GB: 400000000 -> "400.0 MB". */
export function formatBytes(byteLength: number): string {
  if (byteLength >= 1e9) return `${(byteLength / 1e9).toFixed(2)} GB`;
  if (byteLength >= 1e6) return `${(byteLength / 1e6).toFixed(1)} MB`;
  if (byteLength >= 1e3) return `${(byteLength / 1e3).toFixed(1)} kB`;
  return `${byteLength} B`;
}

/** Bytes as MB without the unit, for "120.5 / 400.0 MB". */
export function formatMegabytes(byteLength: number): string {
  return (byteLength / 1e6).toFixed(1);
}

/** Bytes per second as MB/s: "93.4". */
export function formatRate(bytesPerSecond: number): string {
  const mb = bytesPerSecond / 1e6;
  return mb >= 100 ? mb.toFixed(0) : mb.toFixed(1);
}

/** Milliseconds as "850 ms" or "4.32 s". */
export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** Compact count for presets and axes: 50000000 -> "50M", 12500000 -> "12.5M", -32768 -> "-32.8k". */
export function formatCompact(value: number): string {
  if (!Number.isFinite(value)) return value > 0 ? "+Inf" : value < 0 ? "-Inf" : "NaN";
  const abs = Math.abs(value);
  const units: [number, string][] = [
    [1e12, "T"],
    [1e9, "G"],
    [1e6, "M"],
    [1e3, "k"],
  ];
  for (const [scale, suffix] of units) {
    if (abs >= scale) return `${trimZeros((value / scale).toFixed(abs / scale >= 100 ? 0 : 1))}${suffix}`;
  }
  return trimZeros(abs >= 100 || Number.isInteger(value) ? value.toFixed(0) : value.toFixed(1));
}

/** A value of any dtype for display: bigint without the "n", floats as JS prints them. */
export function formatValue(value: number | bigint): string {
  return typeof value === "bigint" ? value.toString() : String(value);
}

function trimZeros(text: string): string {
  return text.includes(".") ? text.replace(/\.?0+$/, "") : text;
}
