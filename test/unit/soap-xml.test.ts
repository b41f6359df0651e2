import { strict as assert } from 'node:assert';
import { parseXml, text } from '../../gateway/vsphere/soap-xml.js';

describe('SOAP XML parsing', () => {
  // vcsim (Go's encoding/xml) writes `"` as &#34; and a newline as &#xA;; vCenter may do the same.
  it('decodes numeric character references in text (plain-text extraConfig, names with quotes)', () => {
    const doc = parseXml('<value>{&#34;instance-id&#34;: &#34;i-1&#34;}&#xA;line&#x9;tab</value>');
    assert.equal(text(doc.value), '{"instance-id": "i-1"}\nline\ttab');
  });

  it('decodes each reference once: an escaped ampersand stays literal', () => {
    const doc = parseXml('<value>&amp;#34; &amp;amp; &lt;x&gt;</value>');
    assert.equal(text(doc.value), '&#34; &amp; <x>');
  });
});
