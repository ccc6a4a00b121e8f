//go:build ignore

// zipdir writes a reproducible zip of a folder: entries in byte order of their
// paths, every timestamp set to SOURCE_DATE_EPOCH (the commit's time, from the
// Makefile), modes normalised to 0755 for executables and 0644 for the rest, no
// owner or extra fields. The same tree gives the same bytes, so a deploy tool
// that hashes the zip (Lambda's source_code_hash, a GCS object's md5) redeploys
// only when the code changed.
//
// `zip -X` would do most of this, but it is not on a fresh machine, and it
// keeps each file's mtime: a fresh clone or a rebuild would give other bytes.
//
//	go run scripts/zipdir.go -o out.zip DIR
package main

import (
	"archive/zip"
	"bytes"
	"flag"
	"fmt"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"
)

func main() {
	out := flag.String("o", "", "the zip to write")
	flag.Parse()
	if *out == "" || flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: go run scripts/zipdir.go -o OUT.zip DIR")
		os.Exit(2)
	}
	stamp := time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC) // the zip format's earliest date
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			log.Fatalf("zipdir: SOURCE_DATE_EPOCH %q is not a whole number of seconds", s)
		}
		stamp = time.Unix(n, 0).UTC()
	}
	data, err := zipDir(flag.Arg(0), stamp)
	if err != nil {
		log.Fatalf("zipdir: %v", err)
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		log.Fatalf("zipdir: %v", err)
	}
	if err := os.WriteFile(*out, data, 0o644); err != nil {
		log.Fatalf("zipdir: %v", err)
	}
}

func zipDir(dir string, stamp time.Time) ([]byte, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		} else if !d.IsDir() {
			return fmt.Errorf("%s: only regular files and folders can be packaged", p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s holds no files", dir)
	}
	sort.Strings(files)
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, name := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		info, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		mode := fs.FileMode(0o644)
		if info.Mode()&0o111 != 0 {
			mode = 0o755
		}
		h := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: stamp}
		h.SetMode(mode)
		f, err := w.CreateHeader(h)
		if err != nil {
			return nil, err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		if _, err := f.Write(b); err != nil {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
