package main

import (
	"bufio"
	"debug/elf"
	"debug/gosym"
	"encoding/binary"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
)

// binaryPages tells where the server's resident pages of its own binary lie, in MB: .text by package, the other
// sections by name. The kernel maps a binary's pages as they are first touched (and the pages around each touch),
// and VmHWM counts them, so this is what a run brought in of the binary, and what a smaller one would save. It
// reads /proc/PID/pagemap, whose present and file-page bits any process may read of its own children.
func binaryPages(pid int, bin string) (map[string]float64, error) {
	f, err := elf.Open(bin)
	if err != nil {
		return nil, fmt.Errorf("binary pages: %w", err)
	}
	defer f.Close()
	funcs, err := textFuncs(f)
	if err != nil {
		return nil, err
	}
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return nil, fmt.Errorf("binary pages: %w", err)
	}
	maps, err := os.Open(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		return nil, fmt.Errorf("binary pages: %w", err)
	}
	defer maps.Close()
	pagemap, err := os.Open(fmt.Sprintf("/proc/%d/pagemap", pid))
	if err != nil {
		return nil, fmt.Errorf("binary pages: %w", err)
	}
	defer pagemap.Close()

	const page = 4096
	pages := map[string]int{}
	sc := bufio.NewScanner(maps)
	for sc.Scan() {
		// start-end perms offset dev inode path
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[5] != exe {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		off, err3 := strconv.ParseUint(fields[2], 16, 64)
		if !ok || err1 != nil || err2 != nil || err3 != nil {
			continue
		}
		entries := make([]byte, (end-start)/page*8)
		if _, err := pagemap.ReadAt(entries, int64(start/page*8)); err != nil {
			return nil, fmt.Errorf("binary pages: read pagemap: %w", err)
		}
		for i := range len(entries) / 8 {
			e := binary.LittleEndian.Uint64(entries[i*8:])
			if e&(1<<63) == 0 || e&(1<<61) == 0 { // not present, or a private copy (written data)
				continue
			}
			pages[partAt(f, funcs, off+uint64(i)*page)]++
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("binary pages: %w", err)
	}
	out := map[string]float64{}
	for part, n := range pages {
		out[part] = float64(n*page) / (1 << 20)
	}
	return mainParts(out, 0.25), nil
}

// textFunc is a function of .text: its start, as an offset in the file, and its package.
type textFunc struct {
	off uint64
	pkg string
}

// textFuncs reads the functions from the binary's own function table (.gopclntab), which a stripped binary keeps.
func textFuncs(f *elf.File) ([]textFunc, error) {
	text, pcln := f.Section(".text"), f.Section(".gopclntab")
	if text == nil || pcln == nil {
		return nil, fmt.Errorf("binary pages: no .text or .gopclntab: not a Go binary?")
	}
	data, err := pcln.Data()
	if err != nil {
		return nil, fmt.Errorf("binary pages: read .gopclntab: %w", err)
	}
	table, err := gosym.NewTable(nil, gosym.NewLineTable(data, text.Addr))
	if err != nil {
		return nil, fmt.Errorf("binary pages: function table: %w", err)
	}
	out := make([]textFunc, 0, len(table.Funcs))
	for _, fn := range table.Funcs {
		if fn.Entry >= text.Addr && fn.Entry < text.Addr+text.Size {
			out = append(out, textFunc{off: fn.Entry - text.Addr + text.Offset, pkg: packageOf(fn.Name)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].off < out[j].off })
	return out, nil
}

// partAt names what the page at file offset off holds: the package of the function it begins in for .text, the
// section's name otherwise.
func partAt(f *elf.File, funcs []textFunc, off uint64) string {
	for _, s := range f.Sections {
		if s.Type == elf.SHT_NOBITS || off < s.Offset || off >= s.Offset+s.Size {
			continue
		}
		if s.Name != ".text" {
			return s.Name
		}
		i := sort.Search(len(funcs), func(i int) bool { return funcs[i].off > off }) - 1
		if i < 0 {
			return ".text"
		}
		return funcs[i].pkg
	}
	return "headers"
}

// packageOf is a Go symbol's package, with go-fed's hundreds of generated vocabulary packages as one, and the
// linker's generated functions (type:, go:) as theirs.
func packageOf(sym string) string {
	for _, prefix := range []string{"type:", "go:"} {
		if strings.HasPrefix(sym, prefix) {
			return prefix + " (generated)"
		}
	}
	head := sym
	if i := strings.IndexAny(head, "[( "); i >= 0 { // type arguments, receivers and struct types name packages too
		head = head[:i]
	}
	slash := strings.LastIndexByte(head, '/')
	pkg := head
	if dot := strings.IndexByte(head[slash+1:], '.'); dot >= 0 {
		pkg = head[:slash+1+dot]
	}
	if strings.HasPrefix(pkg, "github.com/go-fed/activity/streams") {
		return "github.com/go-fed/activity/streams/..."
	}
	return pkg
}

// mainParts keeps the parts of at least min MB and puts the rest together as "other".
func mainParts(parts map[string]float64, min float64) map[string]float64 {
	out := map[string]float64{}
	for k, mb := range parts {
		if mb >= min {
			out[k] = mb
		} else {
			out["other"] += mb
		}
	}
	return out
}

// topParts lists the n largest parts, then the rest together, for the table.
func topParts(parts map[string]float64, n int) string {
	names := make([]string, 0, len(parts))
	for k := range parts {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool { return parts[names[i]] > parts[names[j]] })
	var b strings.Builder
	rest := 0.0
	for i, k := range names {
		if i >= n {
			rest += parts[k]
			continue
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %.1f", k, parts[k])
	}
	if rest > 0 {
		fmt.Fprintf(&b, ", the rest %.1f", rest)
	}
	return b.String()
}
