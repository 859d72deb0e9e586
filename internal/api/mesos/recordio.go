package mesos

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// MaxRecordSize bounds one RecordIO record; a larger length prefix is a protocol error.
const MaxRecordSize = 16 << 20

// ErrRecordTooLarge is returned for a record whose length exceeds MaxRecordSize.
var ErrRecordTooLarge = errors.New("recordio: record too large")

// RecordWriter writes RecordIO records: "<decimal length>\n<bytes>".
type RecordWriter struct {
	w io.Writer
}

// NewRecordWriter returns a writer of RecordIO records to w.
func NewRecordWriter(w io.Writer) *RecordWriter { return &RecordWriter{w: w} }

// WriteJSON writes v, JSON-encoded, as one record.
func (rw *RecordWriter) WriteJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return rw.Write(b)
}

// Write writes b as one record.
func (rw *RecordWriter) Write(b []byte) error {
	buf := make([]byte, 0, len(b)+12)
	buf = strconv.AppendInt(buf, int64(len(b)), 10)
	buf = append(buf, '\n')
	buf = append(buf, b...)
	_, err := rw.w.Write(buf)
	return err
}

// RecordReader reads RecordIO records.
type RecordReader struct {
	r *bufio.Reader
}

// NewRecordReader returns a reader of RecordIO records from r.
func NewRecordReader(r io.Reader) *RecordReader { return &RecordReader{r: bufio.NewReader(r)} }

// Read returns the next record. It returns io.EOF at a clean end of stream.
func (rr *RecordReader) Read() ([]byte, error) {
	var n int64
	digits := 0
	for {
		c, err := rr.r.ReadByte()
		if err != nil {
			if err == io.EOF && digits > 0 {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if c == '\n' {
			break
		}
		if c < '0' || c > '9' || digits >= 10 {
			return nil, fmt.Errorf("recordio: bad length prefix byte %q", c)
		}
		n = n*10 + int64(c-'0')
		digits++
	}
	if digits == 0 {
		return nil, errors.New("recordio: empty length prefix")
	}
	if n > MaxRecordSize {
		return nil, fmt.Errorf("%w: %d bytes", ErrRecordTooLarge, n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(rr.r, b); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return b, nil
}

// ReadJSON reads the next record and decodes it into v.
func (rr *RecordReader) ReadJSON(v any) error {
	b, err := rr.Read()
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
