// Command-line options for the demos and benchmarks: `--batch-size 64` or `--batch-size=64` sets
// the default's `batchSize`, read as the default's type (a number, a comma-separated list, or a
// string); `--help` prints the usage. A bad option prints the message and the usage, and exits 2.

type OptionValue = number|string|string[];

export function parseOptions<T extends Record<string, OptionValue>>(argv: string[], defaults: T, usage: () => string): T {
  const opts: Record<string, OptionValue> = {...defaults};
  const fail = (message: string): never => {
    console.error(`${message}\n${usage()}`);
    process.exit(2);
  };
  for (let i = 0; i < argv.length; ++i) {
    const [flag, inline] = argv[i].split('=', 2);
    if (flag === '--help' || flag === '-h') {
      console.log(usage());
      process.exit(0);
    }
    const key = flag.replace(/^--/, '').replace(/-(\w)/g, (_, c: string) => c.toUpperCase());
    if (!flag.startsWith('--') || !(key in defaults)) fail(`unknown option ${argv[i]}`);
    const value = inline ?? argv[++i];
    if (value === undefined) fail(`${flag} needs a value`);
    const d = defaults[key];
    if (typeof d === 'number') {
      const n = Number(value);
      if (!Number.isFinite(n)) fail(`${flag}: not a number: ${value}`);
      opts[key] = n;
    } else {
      opts[key] = Array.isArray(d) ? value.split(',').filter(Boolean) : value;
    }
  }
  return opts as T;
}

/** Fails like a bad option unless each of `keys` is a positive integer. */
export function requirePositiveIntegers<T extends Record<string, OptionValue>>(opts: T, keys: Array<keyof T & string>, usage: () => string) {
  for (const key of keys) {
    const v = opts[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
      console.error(`--${key.replace(/[A-Z]/g, c => `-${c.toLowerCase()}`)}: must be a positive integer, got ${v}\n${usage()}`);
      process.exit(2);
    }
  }
}

/** A usage line listing every option with its default. */
export function usageOf(defaults: Record<string, OptionValue>): () => string {
  return () => `options (defaults): ${Object.entries(defaults).map(([k, v]) => `--${k.replace(/[A-Z]/g, c => `-${c.toLowerCase()}`)} ${v}`).join(', ')}`;
}
