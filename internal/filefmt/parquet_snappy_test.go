package filefmt

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/snappy"
)

// TestSnappyPagesFastAndStandard: Parquet pages are Snappy-compressed with
// S2's fast mode, and what it writes is standard Snappy.
func TestSnappyPagesFastAndStandard(t *testing.T) {
	var page bytes.Buffer
	for i := 0; page.Len() < 256<<10; i++ {
		fmt.Fprintf(&page, "user%d@example.com,Name %x,US,%d;", i, i*7919, i%70)
	}
	src := page.Bytes()
	codec, err := compress.GetCodec(compress.Codecs.Snappy)
	if err != nil {
		t.Fatal(err)
	}
	enc := codec.EncodeLevel(nil, src, 0)
	if !bytes.Equal(enc, s2.EncodeSnappy(nil, src)) {
		t.Fatalf("pages are not compressed by S2's fast Snappy mode")
	}
	dec, err := snappy.Decode(nil, enc)
	if err != nil || !bytes.Equal(dec, src) {
		t.Fatalf("a standard Snappy decoder reads back %d bytes of %d, err %v", len(dec), len(src), err)
	}
	if back, err := compress.Decode(codec, nil, enc); err != nil || !bytes.Equal(back, src) {
		t.Fatalf("the codec reads back %d bytes of %d, err %v", len(back), len(src), err)
	}
}
