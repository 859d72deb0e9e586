package pki

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// File modes: certificates are public, private keys readable by their owner only.
const (
	certMode = 0o644
	keyMode  = 0o600
)

// Write writes the CA's certificate and private key as PEM files.
func (ca *CA) Write(certFile, keyFile string) error {
	return writePair(ca.Cert, ca.Key, certFile, keyFile)
}

// Write writes the certificate and its private key as PEM files.
func (kp *KeyPair) Write(certFile, keyFile string) error {
	return writePair(kp.Cert, kp.Key, certFile, keyFile)
}

// CertPEM returns the certificate PEM-encoded.
func (kp *KeyPair) CertPEM() []byte { return encodeCert(kp.Cert) }

// CertPEM returns the CA's certificate PEM-encoded: what clients trust.
func (ca *CA) CertPEM() []byte { return encodeCert(ca.Cert) }

func encodeCert(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

func writePair(cert *x509.Certificate, key *ecdsa.PrivateKey, certFile, keyFile string) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("pki: marshal key: %w", err)
	}
	if err := writeFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), keyMode); err != nil {
		return err
	}
	return writeFile(certFile, encodeCert(cert), certMode)
}

// writeFile writes data through a temporary file in the same directory, so that a reader never
// sees half a file and a key is never readable by others, not even for a moment.
func writeFile(path string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, mode)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("pki: write %s: %w", path, err)
	}
	return nil
}

// LoadCA reads a CA written by CA.Write.
func LoadCA(certFile, keyFile string) (*CA, error) {
	cert, err := readCert(certFile)
	if err != nil {
		return nil, err
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("pki: %s is not a CA certificate", certFile)
	}
	key, err := readKey(keyFile)
	if err != nil {
		return nil, err
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("pki: key %s does not match certificate %s", keyFile, certFile)
	}
	return &CA{Cert: cert, Key: key}, nil
}

// ReadPool reads a PEM file of one or more CA certificates into a pool.
func ReadPool(caFile string) (*x509.CertPool, error) {
	b, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("pki: CA file: %w", err)
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("pki: CA file %s holds no PEM certificate", caFile)
	}
	return p, nil
}

func readCert(file string) (*x509.Certificate, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("pki: certificate: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("pki: %s holds no PEM certificate", file)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("pki: %s: %w", file, err)
	}
	return cert, nil
}

// ErrKeyExposed is returned for a private key file that group or others may read.
var ErrKeyExposed = errors.New("private key file is accessible by group or others")

// readKey reads an ECDSA private key, refusing a file that others may read.
func readKey(file string) (*ecdsa.PrivateKey, error) {
	b, err := readPrivate(file)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("pki: %s holds no PEM key", file)
	}
	var key any
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("pki: %s: unexpected PEM block %q", file, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("pki: %s: %w", file, err)
	}
	ec, ok := key.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("pki: %s: not an ECDSA key", file)
	}
	return ec, nil
}

// readPrivate reads a file that must be readable by its owner only.
func readPrivate(file string) ([]byte, error) {
	fi, err := os.Stat(file)
	if err != nil {
		return nil, fmt.Errorf("pki: key: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("pki: %s (mode %v): %w: chmod 600 it", file, fi.Mode().Perm(), ErrKeyExposed)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("pki: key: %w", err)
	}
	return b, nil
}
