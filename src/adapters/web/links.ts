/** URLs of the UI and of the files it links to, in one place. */
import type { Channel, StoredPackage } from '../../core/channel/model.ts';
import { seg } from './html.ts';
import type { ProvenanceLinks } from './provenance.ts';

export const channelPage = (channel: string) => `/channels/${seg(channel)}`;
export const settingsPage = (channel: string) => `/channels/${seg(channel)}/settings`;
export const packagePage = (channel: string, name: string) => `/channels/${seg(channel)}/packages/${seg(name)}`;
export const logEntryPage = (index: number) => `/log/entries/${index}`;

/** The anchor of a file's card on its package page. */
export const fileAnchor = (subdir: string, filename: string) => `file-${subdir}-${filename}`;

/** What conda is given: `conda install -c URL` (the public URL the server is reached at). */
export const condaChannelUrl = (publicUrl: string, channel: string) => `${publicUrl}/${channel}`;

/**
 * Where a browser downloads a channel file. Public channels: the conda URL itself. Private channels:
 * the same file through the UI's route, which reads the sign-in cookie (conda URLs take bearer tokens only).
 */
export function fileHref(channel: Pick<Channel, 'name' | 'private'>, subdir: string, file: string): string {
  return channel.private
    ? `/channels/${seg(channel.name)}/files/${seg(subdir)}/${seg(file)}`
    : `/${seg(channel.name)}/${seg(subdir)}/${seg(file)}`;
}

export function provenanceLinks(channel: Pick<Channel, 'name' | 'private'>, pkg: StoredPackage): ProvenanceLinks {
  return {
    sigstore: fileHref(channel, pkg.subdir, `${pkg.filename}.sigstore`),
    v0sigs: fileHref(channel, pkg.subdir, `${pkg.filename}.v0.sigs`),
    receipt: fileHref(channel, pkg.subdir, `${pkg.filename}.receipt.json`),
  };
}
