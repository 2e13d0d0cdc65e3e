// Amounts are decimal strings with two places; they are summed as integer minor units (BigInt), never floats.

export function toMinor(amount) {
  const match = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(String(amount ?? "").trim());
  if (!match) return 0n;
  const minor = BigInt(match[2]) * 100n + BigInt((match[3] || "").padEnd(2, "0") || "0");
  return match[1] ? -minor : minor;
}

export function formatMinor(minor) {
  const negative = minor < 0n;
  const absolute = negative ? -minor : minor;
  const whole = groupDigits((absolute / 100n).toString());
  const cents = (absolute % 100n).toString().padStart(2, "0");
  return `${negative ? "-" : ""}${whole}.${cents}`;
}

export const groupDigits = (digits) => String(digits).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
export const sumMinor = (items) => items.reduce((total, item) => total + toMinor(item.amount), 0n);
export const plural = (n, word) => `${groupDigits(n)} ${word}${n === 1 ? "" : "s"}`;
