/** The Dropbox fake of the tests is the shipped sandbox (src/sandbox/dropbox.ts), under its test names. */
export {
  startSandboxDropbox as startFakeDropbox,
  dropboxContentHash,
  type SandboxDropbox as FakeDropbox,
  type SandboxDropboxOptions as FakeDropboxOptions,
  type DropboxFile,
  type DropboxFolder,
  type DropboxSharedLink,
} from '../../src/sandbox/dropbox.js';
