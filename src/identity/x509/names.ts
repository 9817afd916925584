/**
 * X.501 Names as RFC 5280 §4.1.2.4 uses them: encoding the subjects we issue, reading the common
 * name of names we receive.
 */
import { VigilError } from '../../core/index.ts';
import { DerReader, Tag, oid, sequence, setOf, utf8String, type DerElement } from './der.ts';

export const NameOid = {
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
} as const;

export interface SubjectName {
  commonName: string;
  organization?: string;
}

/** RFC 5280 Appendix A upper bounds: ub-common-name 64, ub-organization-name 64. */
function checkAttribute(value: string, what: string): void {
  const length = [...value].length;
  if (
    typeof value !== 'string' ||
    length < 1 ||
    length > 64 ||
    [...value].some((character) => character.charCodeAt(0) < 0x20 || character.charCodeAt(0) === 0x7f)
  ) {
    throw new VigilError('X509_SUBJECT_INVALID', 'invalid', `${what} must be 1 to 64 printable characters`);
  }
}

function attribute(type: string, value: string): Buffer {
  // RFC 5280 §4.1.2.4: new certificates encode DirectoryString as UTF8String.
  return setOf([sequence(oid(type), utf8String(value))]);
}

/** Name with one RDN per attribute, most general first: O, then CN. */
export function encodeName(name: SubjectName): Buffer {
  checkAttribute(name.commonName, 'commonName');
  const rdns: Buffer[] = [];
  if (name.organization !== undefined) {
    checkAttribute(name.organization, 'organization');
    rdns.push(attribute(NameOid.organization, name.organization));
  }
  rdns.push(attribute(NameOid.commonName, name.commonName));
  return sequence(...rdns);
}

/**
 * Reads a Name element and returns its commonName (undefined when there is none). A name with more
 * than one commonName is refused: which one identifies the subject would be ambiguous.
 */
export function readCommonName(reader: DerReader, name: DerElement): string | undefined {
  reader.expectTag(name, Tag.sequence, 'Name');
  let commonName: string | undefined;
  for (const rdns = reader.children(name); !rdns.done;) {
    const rdn = reader.expectTag(
      rdns.next('RelativeDistinguishedName'),
      Tag.set,
      'RelativeDistinguishedName',
    );
    const attributes = reader.children(rdn);
    if (attributes.done) reader.fail('empty RelativeDistinguishedName');
    while (!attributes.done) {
      const fields = reader.children(attributes.expect(Tag.sequence, 'AttributeTypeAndValue'));
      const type = reader.oid(fields.next('attribute type'));
      const value = fields.next('attribute value');
      fields.end('AttributeTypeAndValue');
      if (type === NameOid.commonName) {
        if (commonName !== undefined) reader.fail('Name carries more than one commonName');
        commonName = reader.text(value);
      }
    }
  }
  return commonName;
}
