package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"text/tabwriter"
)

// result is the run's figures; the JSON names are the ones issue 6 lists, plus context.
type result struct {
	Mode     string `json:"mode"`
	Database string `json:"database"`
	Cores    int    `json:"cores"`
	N        int    `json:"n"`
	K        int    `json:"k"`
	C        int    `json:"c"`
	S        int    `json:"s"`

	InboxPerS       float64 `json:"inbox_per_s"`
	InboxP99MS      float64 `json:"inbox_p99_ms"`
	InboxLost       int     `json:"inbox_lost"`
	InboxDuplicates int     `json:"inbox_duplicates"`
	InboxRatio      float64 `json:"inbox_ratio"`
	InboxRefused    int     `json:"inbox_refused"`
	InboxAppliedS   float64 `json:"inbox_applied_s"`
	// InboxAppliedAfterS is how long after the last answer of the burst the last effect appeared.
	InboxAppliedAfterS float64 `json:"inbox_applied_after_burst_s"`
	InboxWarmPerS      float64 `json:"inbox_cached_keys_per_s"`
	InboxWarmP99MS     float64 `json:"inbox_cached_keys_p99_ms"`
	InboxWarmRatio     float64 `json:"inbox_cached_keys_ratio"`
	InboxSignatures    int     `json:"inbox_signatures"`
	InboxSigsWanted    int     `json:"inbox_signatures_expected"`
	InboxStoredRows    int     `json:"inbox_stored_rows"`
	FanoutInstances    int     `json:"fanout_instances"`
	FanoutS            float64 `json:"fanout_s"`
	FanoutRatio        float64 `json:"fanout_ratio"`
	FanoutPublishS     float64 `json:"fanout_publish_s"`
	FanoutError        string  `json:"fanout_error,omitempty"`
	RSASignPerS        float64 `json:"rsa_sign_per_s"`
	RSAVerifyPerS      float64 `json:"rsa_verify_per_s"`
	HomePerS           float64 `json:"home_per_s"`
	MemoPerS           float64 `json:"memo_per_s"`
	WebFingerPerS      float64 `json:"webfinger_per_s"`
	BarePerS           float64 `json:"bare_webfinger_per_s"`
	WebFingerRatio     float64 `json:"webfinger_ratio"`
	ActorPerS          float64 `json:"actor_per_s"`
	ActorRatio         float64 `json:"actor_ratio"`
	HomeRatio          float64 `json:"home_ratio"`
	MemoRatio          float64 `json:"memo_ratio"`
	// Client names what loaded the pages; its ceiling is its rate on the bare handler, wrk's is beside it when
	// installed.
	Client            string  `json:"client"`
	ClientCeilingPerS float64 `json:"client_ceiling_per_s"`
	WrkBarePerS       float64 `json:"wrk_bare_per_s,omitempty"`
	ClientVsWrk       float64 `json:"client_vs_wrk,omitempty"`
	SigPageP99Small   float64 `json:"sigpage_p99_ms_small"`
	SigPageP99Large   float64 `json:"sigpage_p99_ms_large"`
	SigPageSmallRows  int     `json:"sigpage_rows_small"`
	SigPageLargeRows  int     `json:"sigpage_rows_large"`
	SigPageError      string  `json:"sigpage_error,omitempty"`
	SearchP99Large    float64 `json:"search_p99_ms_large"`
	SearchError       string  `json:"search_error,omitempty"`
	RSSMB             float64 `json:"rss_mb"`
	RSSFileMB         float64 `json:"rss_file_mb"` // of RSSMB's kind, at the end: pages mapped from the binary
	// RSSFileParts is where those pages lie, in MB: .text by package, the other sections by name (binaryPages).
	RSSFileParts map[string]float64 `json:"rss_file_parts_mb,omitempty"`
	ElapsedS     float64            `json:"elapsed_s"`
}

// round keeps JSON figures readable: three significant decimals at most.
func round(v float64) float64 {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return math.Round(v*1000) / 1000
}

func (r *result) writeJSON(w io.Writer) error {
	for _, p := range []*float64{&r.InboxPerS, &r.InboxP99MS, &r.InboxRatio, &r.InboxAppliedS, &r.InboxWarmPerS, &r.InboxWarmP99MS, &r.InboxWarmRatio, &r.FanoutS, &r.FanoutRatio,
		&r.FanoutPublishS, &r.RSASignPerS, &r.RSAVerifyPerS, &r.HomePerS, &r.MemoPerS, &r.WebFingerPerS, &r.BarePerS,
		&r.WebFingerRatio, &r.ActorPerS, &r.ActorRatio, &r.HomeRatio, &r.MemoRatio, &r.ClientCeilingPerS, &r.WrkBarePerS,
		&r.ClientVsWrk, &r.InboxAppliedAfterS, &r.SigPageP99Small, &r.SigPageP99Large, &r.SearchP99Large, &r.RSSMB, &r.RSSFileMB, &r.ElapsedS} {
		*p = round(*p)
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// target is one line of the table: a figure, what issue 6 asks of it, and whether it holds.
type goal struct {
	name, figure, want string
	ok                 bool
}

func (r *result) goals() []goal {
	sigFlat := r.SigPageP99Small > 0 && r.SigPageP99Large <= 1.5*r.SigPageP99Small
	return []goal{
		{"inbox", fmt.Sprintf("%.0f/s, p99 %.1f ms, lost %d, doubled %d, refused %d", r.InboxPerS, r.InboxP99MS, r.InboxLost, r.InboxDuplicates, r.InboxRefused), "none lost, doubled or refused", r.InboxLost == 0 && r.InboxDuplicates == 0 && r.InboxRefused == 0},
		{"inbox_ratio", fmt.Sprintf("%.3f (of %.0f verifications/s), p99 %.1f ms", r.InboxRatio, r.RSAVerifyPerS, r.InboxP99MS), "≥ 0.03, p99 ≤ 100 ms", r.InboxRatio >= 0.03 && r.InboxP99MS <= 100},
		{"inbox, keys cached", fmt.Sprintf("%.0f/s, p99 %.1f ms, ratio %.3f", r.InboxWarmPerS, r.InboxWarmP99MS, r.InboxWarmRatio), "", true},
		{"inbox applied", fmt.Sprintf("%.2f s after the burst's end (%.2f s after its start); signatures %d of %d", r.InboxAppliedAfterS, r.InboxAppliedS, r.InboxSignatures, r.InboxSigsWanted), "≤ 10 s after", r.InboxAppliedAfterS <= 10},
		{"fanout", r.fanoutFigure(), "", true},
		{"fanout_ratio", fmt.Sprintf("%.2f (K × 1 signature ÷ cores = %.2f s)", r.FanoutRatio, safeDiv(float64(r.FanoutInstances), r.RSASignPerS)), "≤ 1.5", r.FanoutRatio > 0 && r.FanoutRatio <= 1.5},
		{"rsa", fmt.Sprintf("%.0f signatures/s, %.0f verifications/s", r.RSASignPerS, r.RSAVerifyPerS), "", true},
		{"client", fmt.Sprintf("%.0f/s on the bare handler; wrk %.0f/s (%.2f×)", r.ClientCeilingPerS, r.WrkBarePerS, r.ClientVsWrk), "≥ 0.8 × wrk", r.WrkBarePerS == 0 || r.ClientVsWrk >= 0.8},
		{"webfinger_ratio", fmt.Sprintf("%.2f (%.0f/s of %.0f/s bare)", r.WebFingerRatio, r.WebFingerPerS, r.BarePerS), "≥ 0.75", r.WebFingerRatio >= 0.75},
		{"actor_ratio", fmt.Sprintf("%.2f (%.0f/s)", r.ActorRatio, r.ActorPerS), "≥ 0.75", r.ActorRatio >= 0.75},
		{"home_ratio", fmt.Sprintf("%.2f (%.0f/s)", r.HomeRatio, r.HomePerS), "≥ 0.35", r.HomeRatio >= 0.35},
		{"memo_ratio (JSON, gzip)", fmt.Sprintf("%.2f (%.0f/s)", r.MemoRatio, r.MemoPerS), "≥ 0.2", r.MemoRatio >= 0.2},
		{"signatures page p99", fmt.Sprintf("%.2f ms at %d rows, %.2f ms at %d rows", r.SigPageP99Small, r.SigPageSmallRows, r.SigPageP99Large, r.SigPageLargeRows), "large ≤ 1.5 × small", sigFlat},
		{"search p99", fmt.Sprintf("%.2f ms at %d rows", r.SearchP99Large, r.SigPageLargeRows), "≤ 50 ms at 1,000,000", r.SearchP99Large > 0 && r.SearchP99Large <= 50},
		{"rss", r.rssFigure(), "≤ 64 MB", r.RSSMB > 0 && r.RSSMB <= 64},
	}
}

func (r *result) rssFigure() string {
	s := fmt.Sprintf("%.1f MB peak; at the end %.1f MB of it mapped from the binary", r.RSSMB, r.RSSFileMB)
	if len(r.RSSFileParts) > 0 {
		s += " (MB: " + topParts(r.RSSFileParts, 5) + ")"
	}
	return s
}

func safeDiv(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func (r *result) writeTable(w io.Writer) {
	fmt.Fprintf(w, "\nmemo-load %s on %s, %d cores: N=%d K=%d C=%d S=%d, %.0f s\n\n", r.Mode, r.Database, r.Cores, r.N, r.K, r.C, r.S, r.ElapsedS)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "measure\tfigure\ttarget\t")
	for _, t := range r.goals() {
		mark := ""
		if t.want != "" {
			mark = "met"
			if !t.ok {
				mark = "MISSED"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s %s\t\n", t.name, t.figure, t.want, mark)
	}
	tw.Flush()
	fmt.Fprintln(w)
}

func (r *result) fanoutFigure() string {
	if r.FanoutError != "" {
		return "not measured: " + r.FanoutError
	}
	return fmt.Sprintf("%d instances in %.2f s (memo publish %.2f s of it)", r.FanoutInstances, r.FanoutS, r.FanoutPublishS)
}
