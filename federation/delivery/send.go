package delivery

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/federation/fetch"
	"github.com/memo-fediverse/memo/federation/httpsign"
)

// RememberScheme is how long a host that answered only to an RFC 9421 signature gets RFC 9421 first. WordPress's
// ActivityPub plugin remembers the opposite (hosts that refused RFC 9421) for a month
// (Signature::rfc9421_add_unsupported_host, includes/class-signature.php); we do the same the other way round.
const RememberScheme = 30 * 24 * time.Hour

// post signs and sends one delivery. It returns the status and the Retry-After header, or the network error.
//
// We sign with draft-cavage, which every peer reads, unless the inbox's host is remembered to want RFC 9421. An
// answer of 401, or 400 naming the signature, is a refusal of the signature: the request is sent once more, signed
// under the other scheme ("double knock", as WordPress's plugin does it), and when that one is accepted the host's
// scheme is remembered (or forgotten, back to draft-cavage).
func (w *Worker) post(ctx context.Context, j job) (status int, retryAfter string, err error) {
	host := fetch.Host(j.Inbox)
	scheme := httpsign.SchemeCavage
	if remembered, err := w.cfg.Store.SignatureScheme(ctx, host, w.cfg.Clock()); err != nil {
		w.log.Warn("read remembered signature scheme", "host", host, "err", err)
	} else if remembered == httpsign.SchemeRFC9421 {
		scheme = remembered
	}
	status, retryAfter, body, err := w.send(ctx, j, scheme)
	if err != nil || !signatureRefused(status, body) {
		return status, retryAfter, err
	}
	other := httpsign.SchemeRFC9421
	if scheme == httpsign.SchemeRFC9421 {
		other = httpsign.SchemeCavage
	}
	status2, retryAfter2, _, err2 := w.send(ctx, j, other)
	if err2 != nil || status2 < 200 || status2 > 299 {
		// The second knock changed nothing: the first answer stands, it says what the inbox holds against us.
		w.log.Debug("double knock refused too", "inbox", j.Inbox, "scheme", other, "status", status2, "err", err2)
		return status, retryAfter, err
	}
	var rerr error
	if other == httpsign.SchemeRFC9421 {
		rerr = w.cfg.Store.RememberSignatureScheme(ctx, host, other, w.cfg.Clock().Add(RememberScheme))
	} else {
		rerr = w.cfg.Store.ForgetSignatureScheme(ctx, host)
	}
	if rerr != nil {
		w.log.Warn("remember signature scheme", "host", host, "err", rerr)
	} else {
		w.log.Info("inbox accepted the other signature scheme", "host", host, "scheme", other)
	}
	return status2, retryAfter2, nil
}

// send signs the delivery under scheme and posts it; it returns the start of the answer's body too.
func (w *Worker) send(ctx context.Context, j job, scheme string) (status int, retryAfter string, answer []byte, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, j.Inbox, bytes.NewReader(j.body))
	if err != nil {
		return 0, "", nil, fmt.Errorf("build request to %s: %w", j.Inbox, err)
	}
	req.Header.Set("Content-Type", content.ActivityJSON)
	req.Header.Set("User-Agent", w.cfg.UserAgent)
	if w.cfg.Synchronize != nil {
		if v := w.cfg.Synchronize(ctx, j.Inbox, j.body); v != "" {
			req.Header.Set("Collection-Synchronization", v)
		}
	}
	// Signed now, not when queued: receivers refuse a Date older than about an hour, and retries come days later.
	if scheme == httpsign.SchemeRFC9421 {
		err = httpsign.SignRequest9421(req, j.body, w.cfg.Key, w.cfg.KeyID, httpsign.Sign9421Options{Created: time.Now()})
	} else {
		err = httpsign.SignRequest(req, j.body, w.cfg.Key, w.cfg.KeyID, time.Now())
	}
	if err != nil {
		return 0, "", nil, err
	}
	resp, err := w.cfg.Client.Do(req)
	if err != nil {
		return 0, "", nil, fmt.Errorf("post to %s: %w", j.Inbox, err)
	}
	defer resp.Body.Close()
	// Read a little, to tell a signature refusal, and drain so the connection can be reused.
	answer, _ = io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, resp.Header.Get("Retry-After"), answer, nil
}

// signatureRefused tells whether an inbox's answer refuses our signature: 401, or 400 whose body names it.
func signatureRefused(status int, body []byte) bool {
	switch status {
	case http.StatusUnauthorized:
		return true
	case http.StatusBadRequest:
		return strings.Contains(strings.ToLower(string(body)), "signature")
	}
	return false
}
