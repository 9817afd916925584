// The independent TUF client: tuf-js (the reference JS implementation) with its own fetcher.
// Usage: node tuf-js-client.mjs METADATA_URL TARGETS_URL METADATA_DIR TARGET_DIR [TARGET_PATH]
// METADATA_DIR must hold the pinned root as root.json. Prints one JSON line; exits 1 on refusal.
// HTTPS trust comes from NODE_EXTRA_CA_CERTS, as on a device.
import { Updater } from 'tuf-js';

const [metadataBaseUrl, targetBaseUrl, metadataDir, targetDir, targetPath] = process.argv.slice(2);
try {
  const updater = new Updater({ metadataBaseUrl, targetBaseUrl, metadataDir, targetDir });
  await updater.refresh();
  const result = { ok: true };
  if (targetPath !== undefined) {
    const info = await updater.getTargetInfo(targetPath);
    if (info === undefined) {
      console.log(JSON.stringify({ ok: false, error: 'TargetNotFound', message: targetPath }));
      process.exit(1);
    }
    result.path = await updater.downloadTarget(info);
    result.length = info.length;
    result.custom = info.custom;
  }
  console.log(JSON.stringify(result));
} catch (error) {
  console.log(JSON.stringify({ ok: false, error: error.constructor.name, message: error.message }));
  process.exit(1);
}
