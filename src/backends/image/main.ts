/**
 * Build (if needed) the default guest image and print its paths.
 *
 *   node dist/src/backends/image/main.js [--rebuild] [--cache-dir DIR] [--quiet]
 *
 * Progress goes to stderr; stdout gets two lines, "kernel: <path>" and
 * "initrd: <path>". Exit status 1 on failure, with the reason on stderr.
 */
import { defaultImageLocation, ensureDefaultImage, ImageBuildError } from './index.js';

async function main(argv: string[]): Promise<number> {
  let rebuild = false;
  let quiet = false;
  let cacheDir: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--rebuild') rebuild = true;
    else if (a === '--quiet' || a === '-q') quiet = true;
    else if (a === '--cache-dir' && i + 1 < argv.length) cacheDir = argv[++i];
    else if (a.startsWith('--cache-dir=')) cacheDir = a.slice('--cache-dir='.length);
    else if (a === '--where') {
      const loc = defaultImageLocation({ cacheDir });
      process.stdout.write(`kernel: ${loc.kernel}\ninitrd: ${loc.initrd}\nbuilt: ${loc.built}\n`);
      return 0;
    } else if (a === '--help' || a === '-h') {
      process.stdout.write(
        'usage: main.js [--rebuild] [--cache-dir DIR] [--quiet] [--where]\n' +
          'Builds the default colinux guest image (kernel + initramfs) if needed and prints the paths.\n',
      );
      return 0;
    } else {
      process.stderr.write(`colinux: unknown argument: ${a}\n`);
      return 2;
    }
  }
  try {
    const img = await ensureDefaultImage({
      cacheDir,
      rebuild,
      onProgress: quiet ? undefined : (line) => process.stderr.write(line + '\n'),
    });
    process.stdout.write(`kernel: ${img.kernel}\ninitrd: ${img.initrd}\nvmlinux: ${img.vmlinux}\n`);
    return 0;
  } catch (e) {
    if (e instanceof ImageBuildError) {
      process.stderr.write(e.message + '\n');
      return 1;
    }
    throw e;
  }
}

process.exitCode = await main(process.argv.slice(2));
