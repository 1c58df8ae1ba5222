package views

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"image"
	"image/color"
	"image/png"
	"math"
	"net/http"
	"path"
	"strconv"
	"sync"

	"github.com/memo-fediverse/memo/content"
)

//go:embed static/style.css static/follow.js
var staticFS embed.FS

// asset is one static file, served with a long cache lifetime: its links carry a hash of its bytes, so a new
// version has a new URL.
type asset struct {
	body  []byte
	ctype string
	hash  string
}

type assets struct {
	files map[string]*asset
}

// iconAsset is drawn once per process, on first use.
var iconAsset = sync.OnceValue(func() *asset { return newAsset(drawIcon(iconSize), "image/png") })

func newAsset(body []byte, ctype string) *asset {
	sum := sha256.Sum256(body)
	return &asset{body: body, ctype: ctype, hash: hex.EncodeToString(sum[:6])}
}

func newAssets() *assets {
	a := &assets{files: map[string]*asset{}}
	for name, ctype := range map[string]string{"style.css": "text/css; charset=utf-8", "follow.js": "text/javascript; charset=utf-8"} {
		b, err := staticFS.ReadFile("static/" + name)
		if err != nil {
			panic("embedded asset " + name + ": " + err.Error())
		}
		a.files[name] = newAsset(b, ctype)
	}
	return a
}

func (a *assets) get(name string) *asset {
	if name == "icon.png" {
		return iconAsset()
	}
	return a.files[name]
}

// url is the versioned address of an asset. The icon keeps the plain address of content.URLs.Icon, which the actor
// publishes, with the version added as a query.
func (a *assets) url(u content.URLs, name string) string {
	base := u.Icon()
	if name != "icon.png" {
		base = u.Base + staticDir(u) + name
	}
	return base + "?v=" + a.get(name).hash
}

// staticDir is the folder of the assets: the one content.URLs puts the icon in, with a trailing slash.
func staticDir(u content.URLs) string { return path.Dir(pathOf(u.Icon())) + "/" }

func (s *Site) static(w http.ResponseWriter, r *http.Request) {
	a := s.assets.get(r.PathValue("name"))
	if a == nil {
		s.notFound(w, r)
		return
	}
	serveAsset(w, r, a)
}

func (s *Site) favicon(w http.ResponseWriter, r *http.Request) {
	serveAsset(w, r, s.assets.get("icon.png"))
}

func serveAsset(w http.ResponseWriter, r *http.Request, a *asset) {
	h := w.Header()
	etag := `"` + a.hash + `"`
	h.Set("ETag", etag)
	h.Set("Cache-Control", "public, max-age=604800")
	h.Del("Vary")
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", a.ctype)
	h.Set("Content-Length", strconv.Itoa(len(a.body)))
	w.Write(a.body)
}

const iconSize = 400

// drawIcon paints the publication's icon: a sheet of paper with lines of text and a signature stroke, on the
// site's green. Shapes are distance functions sampled 3×3 per pixel for smooth edges.
func drawIcon(size int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	bg := color.NRGBA{0x0e, 0x5a, 0x4b, 0xff}
	paper := color.NRGBA{0xfb, 0xf8, 0xf1, 0xff}
	ink := color.NRGBA{0x9a, 0xa8, 0xa3, 0xff}
	sign := color.NRGBA{0xd9, 0x5f, 0x1e, 0xff}
	type layer struct {
		c    color.NRGBA
		dist func(x, y float64) float64 // negative inside
	}
	s := float64(size)
	roundRect := func(cx, cy, hw, hh, r float64) func(x, y float64) float64 {
		return func(x, y float64) float64 {
			dx := math.Max(math.Abs(x-cx)-hw+r, 0)
			dy := math.Max(math.Abs(y-cy)-hh+r, 0)
			inside := math.Min(math.Max(math.Abs(x-cx)-hw+r, math.Abs(y-cy)-hh+r), 0)
			return math.Hypot(dx, dy) + inside - r
		}
	}
	segment := func(ax, ay, bx, by, w float64) func(x, y float64) float64 {
		return func(x, y float64) float64 {
			px, py, vx, vy := x-ax, y-ay, bx-ax, by-ay
			t := math.Max(0, math.Min(1, (px*vx+py*vy)/(vx*vx+vy*vy)))
			return math.Hypot(px-t*vx, py-t*vy) - w/2
		}
	}
	polyline := func(w float64, pts ...float64) func(x, y float64) float64 {
		var segs []func(x, y float64) float64
		for i := 0; i+3 < len(pts); i += 2 {
			segs = append(segs, segment(pts[i]*s, pts[i+1]*s, pts[i+2]*s, pts[i+3]*s, w*s))
		}
		return func(x, y float64) float64 {
			d := math.Inf(1)
			for _, f := range segs {
				d = math.Min(d, f(x, y))
			}
			return d
		}
	}
	layers := []layer{
		{bg, roundRect(s/2, s/2, s/2, s/2, s*0.22)},
		{paper, roundRect(s/2, s*0.5, s*0.27, s*0.34, s*0.035)},
		{ink, polyline(0.04, 0.33, 0.30, 0.67, 0.30)},
		{ink, polyline(0.04, 0.33, 0.40, 0.67, 0.40)},
		{ink, polyline(0.04, 0.33, 0.50, 0.58, 0.50)},
		{sign, polyline(0.05, 0.33, 0.72, 0.40, 0.62, 0.45, 0.71, 0.52, 0.62, 0.57, 0.70, 0.67, 0.66)},
	}
	const ss = 3
	for py := 0; py < size; py++ {
		for px := 0; px < size; px++ {
			var r, g, b, a float64
			for sy := 0; sy < ss; sy++ {
				for sx := 0; sx < ss; sx++ {
					x := float64(px) + (float64(sx)+0.5)/ss
					y := float64(py) + (float64(sy)+0.5)/ss
					// Paint the layers bottom up at this sample.
					cr, cg, cb, ca := 0.0, 0.0, 0.0, 0.0
					for _, l := range layers {
						if l.dist(x, y) <= 0 {
							cr, cg, cb, ca = float64(l.c.R), float64(l.c.G), float64(l.c.B), 255
						}
					}
					r, g, b, a = r+cr*ca/255, g+cg*ca/255, b+cb*ca/255, a+ca
				}
			}
			n := float64(ss * ss)
			alpha := a / n
			c := color.NRGBA{}
			if alpha > 0 {
				c = color.NRGBA{uint8(r / n * 255 / alpha), uint8(g / n * 255 / alpha), uint8(b / n * 255 / alpha), uint8(alpha)}
			}
			img.SetNRGBA(px, py, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		panic("encode icon: " + err.Error())
	}
	return buf.Bytes()
}
