package cluster

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
)

// The docker provider's node image: marina-node:<digest of its content>, made on this machine
// from the marina binary (with the shared libraries it links, when it is not static) and a
// static busybox for the shell that process tasks run under. No registry is involved.
const (
	nodeImageRepo  = "marina-node"
	nodeImageLabel = "marina.image"
	imageBinary    = "/bin/marina"
)

// busyboxApplets are the commands the node image links to busybox: a shell and what tasks and
// health checks commonly call.
var busyboxApplets = []string{
	"sh", "ash", "cat", "echo", "env", "false", "true", "sleep", "ls", "mkdir", "rm", "cp", "mv",
	"ln", "touch", "test", "[", "head", "tail", "tr", "dd", "wc", "grep", "sed", "awk", "cut",
	"sort", "uniq", "kill", "ps", "id", "hostname", "pwd", "printf", "nc", "httpd", "wget", "ip",
	"date", "seq", "yes", "tee", "xargs", "find", "chmod", "stat", "du", "df", "free", "uname",
	"basename", "dirname", "timeout", "pidof",
}

// imageFile is one entry of the node image's root filesystem.
type imageFile struct {
	path string // absolute, in the image
	mode int64
	dir  bool
	src  string // a file of this machine to copy
	link string // a symlink's target
	data []byte // generated content
}

// nodeImage is the node image's content and the reference it is tagged with.
type nodeImage struct {
	ref   string
	files []imageFile
}

// planNodeImage lays out the node image for binary and busybox, and names it after a digest of
// its content, so that an unchanged binary reuses the image already built.
func planNodeImage(binary, busybox string, uid, gid int) (*nodeImage, error) {
	if err := checkStatic(busybox); err != nil {
		return nil, err
	}
	libs, err := elfDeps(binary)
	if err != nil {
		return nil, fmt.Errorf("marina binary %s: %w", binary, err)
	}
	files := []imageFile{
		{path: "/tmp", mode: 0o1777, dir: true},
		{path: "/root", mode: 0o700, dir: true},
		{path: "/run", mode: 0o755, dir: true},
		{path: imageBinary, mode: 0o755, src: binary},
		{path: "/bin/busybox", mode: 0o755, src: busybox},
		{path: "/etc/passwd", mode: 0o644, data: passwd(uid, gid)},
		{path: "/etc/group", mode: 0o644, data: group(gid)},
	}
	for _, a := range busyboxApplets {
		files = append(files, imageFile{path: "/bin/" + a, mode: 0o777, link: "busybox"})
	}
	for _, l := range libs {
		files = append(files, imageFile{path: l, mode: 0o755, src: l})
	}
	files = withParents(files)
	digest, err := digestFiles(files)
	if err != nil {
		return nil, err
	}
	return &nodeImage{ref: nodeImageRepo + ":" + digest[:16], files: files}, nil
}

func passwd(uid, gid int) []byte {
	s := "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
	if uid != 0 {
		s += fmt.Sprintf("marina:x:%d:%d:marina:/tmp:/bin/sh\n", uid, gid)
	}
	return []byte(s)
}

func group(gid int) []byte {
	s := "root:x:0:\nnogroup:x:65534:\n"
	if gid != 0 {
		s += fmt.Sprintf("marina:x:%d:\n", gid)
	}
	return []byte(s)
}

// withParents adds a directory entry for every parent directory not listed, and sorts the
// entries by path so that parents come first.
func withParents(files []imageFile) []imageFile {
	have := map[string]bool{}
	for _, f := range files {
		have[f.path] = true
	}
	for _, f := range slices.Clone(files) {
		for d := path.Dir(f.path); d != "/" && !have[d]; d = path.Dir(d) {
			have[d] = true
			files = append(files, imageFile{path: d, mode: 0o755, dir: true})
		}
	}
	slices.SortFunc(files, func(a, b imageFile) int { return strings.Compare(a.path, b.path) })
	return files
}

// digestFiles hashes every entry's path, kind, mode and content.
func digestFiles(files []imageFile) (string, error) {
	h := sha256.New()
	for _, f := range files {
		fmt.Fprintf(h, "%s\x00%o\x00%t\x00%s\x00%d\x00", f.path, f.mode, f.dir, f.link, len(f.data))
		h.Write(f.data)
		if f.src == "" {
			continue
		}
		in, err := os.Open(f.src)
		if err != nil {
			return "", err
		}
		_, err = io.Copy(h, in)
		in.Close()
		if err != nil {
			return "", fmt.Errorf("read %s: %w", f.src, err)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// writeTar writes the image's root filesystem as a tar stream, with fixed owners and times so
// that the same content makes the same layer.
func (img *nodeImage) writeTar(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	tw := tar.NewWriter(bw)
	for _, f := range img.files {
		hdr := &tar.Header{Name: strings.TrimPrefix(f.path, "/"), Mode: f.mode, Format: tar.FormatPAX}
		switch {
		case f.dir:
			hdr.Typeflag, hdr.Name = tar.TypeDir, hdr.Name+"/"
		case f.link != "":
			hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, f.link
		default:
			hdr.Typeflag = tar.TypeReg
		}
		if f.src == "" {
			hdr.Size = int64(len(f.data))
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			if _, err := tw.Write(f.data); err != nil {
				return err
			}
			continue
		}
		if err := copyIntoTar(tw, hdr, f.src); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

func copyIntoTar(tw *tar.Writer, hdr *tar.Header, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	hdr.Size = fi.Size()
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if _, err := io.Copy(tw, in); err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	return nil
}

// ensureNodeImage makes img in the engine unless it is there already; built reports whether it
// was made now.
func ensureNodeImage(ctx context.Context, cli *client.Client, img *nodeImage) (built bool, err error) {
	if _, err := cli.ImageInspect(ctx, img.ref); err == nil {
		return false, nil
	} else if !client.IsErrNotFound(err) {
		return false, fmt.Errorf("inspect image %s: %w", img.ref, err)
	}
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		pw.CloseWithError(img.writeTar(pw))
	}()
	defer func() {
		pr.Close() // unblocks the writer should the import stop reading early
		<-done
	}()
	resp, err := cli.ImageImport(ctx, image.ImportSource{Source: pr, SourceName: "-"}, img.ref, image.ImportOptions{
		Message: "marina node image",
		Changes: []string{"ENV PATH=/bin", "LABEL " + nodeImageLabel + "=node"},
	})
	if err != nil {
		return false, fmt.Errorf("import image %s: %w", img.ref, err)
	}
	defer resp.Close()
	if err := engineStreamError(resp); err != nil {
		return false, fmt.Errorf("import image %s: %w", img.ref, err)
	}
	return true, nil
}

// pruneNodeImages removes the node images other than keep that no container uses (each new
// marina binary makes a new image), and returns how many it removed. An image a container still
// uses, running or not, is the engine's to refuse; that is no error.
func pruneNodeImages(ctx context.Context, cli *client.Client, keep string) (int, error) {
	imgs, err := cli.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("label", nodeImageLabel+"=node"))})
	if err != nil {
		return 0, fmt.Errorf("list node images: %w", err)
	}
	removed := 0
	for _, img := range imgs {
		if slices.Contains(img.RepoTags, keep) {
			continue
		}
		if _, err := cli.ImageRemove(ctx, img.ID, image.RemoveOptions{PruneChildren: true}); err == nil {
			removed++
		}
	}
	return removed, nil
}

// engineStreamError reads a stream of the engine's JSON progress messages to its end and returns
// the error one of them reports.
func engineStreamError(r io.Reader) error {
	dec := json.NewDecoder(io.LimitReader(r, 1<<20))
	for {
		var msg struct {
			Error       string `json:"error"`
			ErrorDetail struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		err := dec.Decode(&msg)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if msg.ErrorDetail.Message != "" {
			return errors.New(msg.ErrorDetail.Message)
		}
		if msg.Error != "" {
			return errors.New(msg.Error)
		}
	}
}

// errNotStatic is returned for a program that needs shared libraries where a static one is
// wanted.
var errNotStatic = errors.New("dynamically linked")

// checkStatic checks that the busybox at p is a static ELF executable.
func checkStatic(p string) error {
	f, err := elf.Open(p)
	if err != nil {
		return fmt.Errorf("busybox %s: %w (install busybox-static, e.g. apt-get install busybox-static, or set provider.settings.busybox)", p, err)
	}
	defer f.Close()
	if interp(f) != "" {
		return fmt.Errorf("busybox %s is %w: install busybox-static (apt-get install busybox-static), or set provider.settings.busybox to a static busybox", p, errNotStatic)
	}
	return nil
}

// interp returns the program interpreter an ELF file names, "" for a static one.
func interp(f *elf.File) string {
	for _, p := range f.Progs {
		if p.Type != elf.PT_INTERP {
			continue
		}
		b, err := io.ReadAll(p.Open())
		if err != nil {
			return ""
		}
		return strings.TrimRight(string(b), "\x00")
	}
	return ""
}

// elfDeps returns the absolute paths of what the ELF executable at p needs to run: its
// interpreter and the shared libraries it links, recursively. A static executable needs none.
func elfDeps(p string) ([]string, error) {
	f, err := elf.Open(p)
	if err != nil {
		return nil, err
	}
	ip := interp(f)
	f.Close()
	if ip == "" {
		return nil, nil
	}
	dirs := libDirs(ip)
	seen := map[string]bool{ip: true}
	out := []string{ip}
	queue := []string{p}
	for len(queue) > 0 {
		next := queue[0]
		queue = queue[1:]
		libs, runpath, err := neededLibs(next)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", next, err)
		}
		for _, lib := range libs {
			found := ""
			for _, d := range append(runpath, dirs...) {
				if c := filepath.Join(d, lib); isFile(c) {
					found = c
					break
				}
			}
			if found == "" {
				return nil, fmt.Errorf("shared library %s not found in %s (or build marina with CGO_ENABLED=0)", lib, strings.Join(dirs, ", "))
			}
			if !seen[found] {
				seen[found] = true
				out = append(out, found)
				queue = append(queue, found)
			}
		}
	}
	return out, nil
}

func neededLibs(p string) (libs, runpath []string, err error) {
	f, err := elf.Open(p)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	if libs, err = f.ImportedLibraries(); err != nil {
		return nil, nil, err
	}
	for _, tag := range []elf.DynTag{elf.DT_RUNPATH, elf.DT_RPATH} {
		vals, _ := f.DynString(tag)
		for _, v := range vals {
			for d := range strings.SplitSeq(v, ":") {
				if strings.HasPrefix(d, "/") {
					runpath = append(runpath, d)
				}
			}
		}
	}
	return libs, runpath, nil
}

// libDirs are where the dynamic linker looks for libraries: beside the interpreter, then the
// usual and multiarch directories.
func libDirs(interp string) []string {
	triplet := map[string]string{"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu", "386": "i386-linux-gnu"}[runtime.GOARCH]
	dirs := []string{filepath.Dir(interp)}
	if real, err := filepath.EvalSymlinks(interp); err == nil {
		dirs = append(dirs, filepath.Dir(real))
	}
	if triplet != "" {
		dirs = append(dirs, "/lib/"+triplet, "/usr/lib/"+triplet)
	}
	dirs = append(dirs, "/lib64", "/usr/lib64", "/lib", "/usr/lib")
	return slices.Compact(dirs)
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}
