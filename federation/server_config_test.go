package federation

import (
	"testing"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/federation/signing"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// The admin's phrases and acknowledgement setting reach the inbox the server builds.
func TestServerPassesSigningSettingsToInbox(t *testing.T) {
	store := storagetest.Open(t, storagetest.SQLiteDSN(t))
	urls := content.URLs{Base: "http://memo.test", Username: "memo"}
	s, err := New(Config{URLs: urls, Key: inboxTestKey(t), SigningPhrases: []string{"je soutiens"}, NoAcknowledgement: true}, store)
	if err != nil {
		t.Fatal(err)
	}
	in := s.inboxes()
	if !in.cfg.NoAcknowledgement {
		t.Error("acknowledgements still on")
	}
	if in.cfg.Signing == nil {
		t.Fatal("the inbox uses the default phrases")
	}
	if _, ok := in.cfg.Signing.Match(signing.Fold("Je soutiens ce texte")); !ok {
		t.Error("the configured phrase does not sign")
	}
	if _, ok := in.cfg.Signing.Match(signing.Fold("je signe")); ok {
		t.Error("a default phrase still signs although the admin replaced them")
	}
	if _, err := New(Config{URLs: urls, Key: inboxTestKey(t), SigningPhrases: []string{"  "}}, store); err == nil {
		t.Error("a blank phrase was accepted")
	}
	d, err := New(Config{URLs: urls, Key: inboxTestKey(t)}, store)
	if err != nil {
		t.Fatal(err)
	}
	if d.inboxes().cfg.Signing != nil || d.inboxes().cfg.NoAcknowledgement {
		t.Error("defaults changed without settings")
	}
}
