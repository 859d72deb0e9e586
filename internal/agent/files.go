package agent

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// maxReadLength bounds one /files/read answer, as Mesos bounds it to a few pages.
const maxReadLength = 1 << 20

// fileInfo is one entry of /files/browse, in Mesos' shape.
type fileInfo struct {
	Path  string `json:"path"`
	Nlink uint64 `json:"nlink"`
	Size  int64  `json:"size"`
	Mtime int64  `json:"mtime"`
	Mode  string `json:"mode"`
	UID   string `json:"uid"`
	GID   string `json:"gid"`
}

// sandboxPath maps a /files path (absolute, inside the sandboxes directory, or relative to it)
// to a path relative to the sandboxes directory. Paths that leave it are rejected.
func (a *Agent) sandboxPath(p string) (string, error) {
	if p == "" {
		return "", badRequest("path is required")
	}
	if strings.ContainsRune(p, 0) {
		return "", badRequest("bad path")
	}
	rel := filepath.Clean(p)
	if filepath.IsAbs(rel) {
		var err error
		if rel, err = filepath.Rel(a.dir.sandboxes(), rel); err != nil {
			return "", badRequest("path outside the sandboxes")
		}
	}
	if rel == ".." || strings.HasPrefix(rel, "../") || filepath.IsAbs(rel) {
		return "", badRequest("path outside the sandboxes")
	}
	return rel, nil
}

// openSandbox opens a path inside the sandboxes directory; os.Root keeps symlinks from leading
// out of it. Anything that cannot be opened there is not found.
func (a *Agent) openSandbox(p string) (*os.File, string, error) {
	rel, err := a.sandboxPath(p)
	if err != nil {
		return nil, "", err
	}
	root, err := os.OpenRoot(a.dir.sandboxes())
	if err != nil {
		return nil, "", err
	}
	defer root.Close()
	f, err := root.Open(rel)
	if err != nil {
		a.log.Debug("files: open", "path", p, "err", err)
		return nil, "", fs.ErrNotExist
	}
	return f, filepath.Join(a.dir.sandboxes(), rel), nil
}

func (a *Agent) filesBrowse(w http.ResponseWriter, r *http.Request) (any, error) {
	f, abs, err := a.openSandbox(r.URL.Query().Get("path"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []fileInfo{toFileInfo(abs, st)}, nil
	}
	entries, err := f.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	out := make([]fileInfo, 0, len(entries))
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			continue
		}
		out = append(out, toFileInfo(filepath.Join(abs, e.Name()), info))
	}
	slices.SortFunc(out, func(x, y fileInfo) int { return strings.Compare(x.Path, y.Path) })
	return out, nil
}

func (a *Agent) filesRead(w http.ResponseWriter, r *http.Request) (any, error) {
	q := r.URL.Query()
	offset, err := intParam(q.Get("offset"), -1)
	if err != nil || offset < -1 {
		return nil, badRequest("bad offset")
	}
	length, err := intParam(q.Get("length"), -1)
	if err != nil || length < -1 {
		return nil, badRequest("bad length")
	}
	f, _, err := a.openSandbox(q.Get("path"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, badRequest("cannot read a directory")
	}
	type readResult struct {
		Data   string `json:"data"`
		Offset int64  `json:"offset"`
	}
	size := st.Size()
	if offset == -1 {
		return readResult{Offset: size}, nil
	}
	if offset >= size {
		return readResult{Offset: offset}, nil
	}
	if length == -1 || length > maxReadLength {
		length = maxReadLength
	}
	buf := make([]byte, min(length, size-offset))
	n, err := f.ReadAt(buf, offset)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return readResult{Data: string(buf[:n]), Offset: offset}, nil
}

func (a *Agent) filesDownload(w http.ResponseWriter, r *http.Request) (any, error) {
	f, abs, err := a.openSandbox(r.URL.Query().Get("path"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, badRequest("cannot download a directory")
	}
	name := filepath.Base(abs)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name))
	http.ServeContent(w, r, name, st.ModTime(), f)
	return nil, nil
}

func intParam(s string, def int64) (int64, error) {
	if s == "" {
		return def, nil
	}
	return strconv.ParseInt(s, 10, 64)
}

func toFileInfo(path string, st fs.FileInfo) fileInfo {
	fi := fileInfo{Path: path, Size: st.Size(), Mtime: st.ModTime().Unix(), Mode: st.Mode().String()}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		fi.Nlink = uint64(sys.Nlink)
		fi.UID = userName(sys.Uid)
		fi.GID = groupName(sys.Gid)
	}
	return fi
}

func userName(uid uint32) string {
	id := strconv.FormatUint(uint64(uid), 10)
	if u, err := user.LookupId(id); err == nil {
		return u.Username
	}
	return id
}

func groupName(gid uint32) string {
	id := strconv.FormatUint(uint64(gid), 10)
	if g, err := user.LookupGroupId(id); err == nil {
		return g.Name
	}
	return id
}
