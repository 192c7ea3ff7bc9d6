/** Element tree -> XML text, four-space indented with CDATA inline, as OpenNebula prints dumps. */
import { XMLBuilder } from 'fast-xml-parser';
import { CDATA, type XmlCdata, type XmlElement } from './xml.js';

const builder = new XMLBuilder({
  format: true,
  indentBy: '    ',
  cdataPropName: CDATA,
  suppressEmptyNode: true,
  processEntities: true,
});

const CDATA_LINE = /<([A-Za-z_][\w.-]*)>\n\s*(<!\[CDATA\[[\s\S]*?\]\]>)\n\s*<\/\1>/g;

/** Serializes a tree under one root element. */
export function buildXml(root: string, body: XmlElement): string {
  const text = builder.build({ [root]: body }) as string;
  return text.replace(CDATA_LINE, '<$1>$2</$1>');
}

/** Text as CDATA; the builder itself splits `]]>` across sections, so the text goes in unchanged. */
export function cdata(text: string): XmlCdata {
  return { [CDATA]: text };
}
