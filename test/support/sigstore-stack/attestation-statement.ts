/** The in-toto Statement CEP-27 asks publishers to sign for one conda package (protocols.md §5). */
export const IN_TOTO_STATEMENT_V1 = 'https://in-toto.io/Statement/v1';
export const CONDA_PUBLISH_PREDICATE = 'https://schemas.conda.org/attestations-publish-1.schema.json';

export interface CondaPublishSubject {
  /** full package filename, e.g. `widgets-1.0-py_0.conda` */
  filename: string;
  /** lowercase hex of the package bytes */
  sha256: string;
  /** channel URL the publisher meant; no predicate at all when absent */
  targetChannel?: string;
}

export interface InTotoStatement {
  _type: string;
  subject: { name: string; digest: Record<string, string> }[];
  predicateType: string;
  predicate?: Record<string, unknown> | null;
}

export function condaPublishStatement(subject: CondaPublishSubject): InTotoStatement {
  return {
    _type: IN_TOTO_STATEMENT_V1,
    subject: [{ name: subject.filename, digest: { sha256: subject.sha256 } }],
    predicateType: CONDA_PUBLISH_PREDICATE,
    ...(subject.targetChannel === undefined ? {} : { predicate: { targetChannel: subject.targetChannel } }),
  };
}
