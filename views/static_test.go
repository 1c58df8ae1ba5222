package views

import (
	"bytes"
	"image/png"
	"net/http"
	"strings"
	"testing"

	"github.com/memo-fediverse/memo/storage/storagetest"
)

func TestStaticAssets(t *testing.T) {
	store := storagetest.Open(t, storagetest.SQLiteDSN(t))
	h := newTestSite(t, store, testBase).Handler()

	for path, ctype := range map[string]string{
		"/static/style.css": "text/css; charset=utf-8",
		"/static/follow.js": "text/javascript; charset=utf-8",
		"/static/icon.png":  "image/png",
		"/favicon.ico":      "image/png",
	} {
		r := get(t, h, path)
		if r.Status != 200 || r.Header.Get("Content-Type") != ctype {
			t.Errorf("%s: %d %q, want 200 %q", path, r.Status, r.Header.Get("Content-Type"), ctype)
			continue
		}
		if r.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(r.Header.Get("Cache-Control"), "max-age=") {
			t.Errorf("%s: headers %v", path, r.Header)
		}
		etag := r.Header.Get("ETag")
		if again := get(t, h, path, "If-None-Match: "+etag); again.Status != http.StatusNotModified || again.Body != "" {
			t.Errorf("%s: revalidation with %s gave %d", path, etag, again.Status)
		}
	}

	img, err := png.Decode(bytes.NewReader([]byte(get(t, h, "/static/icon.png").Body)))
	if err != nil {
		t.Fatalf("icon: %v", err)
	}
	if b := img.Bounds(); b.Dx() != iconSize || b.Dy() != iconSize {
		t.Errorf("icon is %v, want %d×%d", b, iconSize, iconSize)
	}
	// Corners are transparent (rounded), the centre is paper-coloured, the edge green.
	if _, _, _, a := img.At(0, 0).RGBA(); a != 0 {
		t.Errorf("icon corner alpha %d, want 0", a)
	}
	if r, g, b, _ := img.At(iconSize/2, iconSize/2-iconSize/6).RGBA(); r>>8 < 0xf0 || g>>8 < 0xf0 || b>>8 < 0xe0 {
		t.Errorf("icon paper colour %x %x %x", r>>8, g>>8, b>>8)
	}
	if r, g, b, _ := img.At(iconSize/2, 8).RGBA(); r>>8 != 0x0e || g>>8 != 0x5a || b>>8 != 0x4b {
		t.Errorf("icon background %x %x %x", r>>8, g>>8, b>>8)
	}

	// Pages link the assets by versioned URLs, which the assets answer.
	home := get(t, h, "/about")
	for _, name := range []string{"style.css", "follow.js", "icon.png"} {
		link := between(home.Body, testBase+"/static/"+name, `"`)
		if !strings.HasPrefix(link, "?v=") {
			t.Errorf("%s linked as %q, want a ?v= version", name, link)
		}
	}
}
