package inbox

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/content"
	"github.com/memo-fediverse/memo/storage"
	"github.com/memo-fediverse/memo/storage/storagetest"
)

// applyOnly is an inbox on a SQLite store holding the memo, for tests of the background apply alone.
func applyOnly(t testing.TB) (*storage.Store, content.URLs, *Inbox) {
	t.Helper()
	store := storagetest.Open(t, storagetest.SQLiteDSN(t))
	urls := content.URLs{Base: "http://memo.example", Username: "memo"}
	if _, err := storagetest.AddRevision(context.Background(), store, storage.Revision{Title: "Memo", Summary: "s", Markdown: "m", HTML: "<p>m</p>"}); err != nil {
		t.Fatal(err)
	}
	return store, urls, New(Config{URLs: urls, Store: store, Logger: slog.New(slog.DiscardHandler)})
}

// pendingLikes stores Likes of the memo from actors from to to-1, received and not yet applied.
func pendingLikes(t testing.TB, store *storage.Store, urls content.URLs, from, to int) {
	t.Helper()
	ctx := context.Background()
	for i := from; i < to; i++ {
		actor := fmt.Sprintf("https://backlog.example/users/u%d", i)
		id := fmt.Sprintf("https://backlog.example/likes/%d", i)
		body := fmt.Sprintf(`{"@context":"https://www.w3.org/ns/activitystreams","id":%q,"type":"Like","actor":%q,"object":%q}`, id, actor, urls.Memo())
		if _, err := store.InsertInboxActivityWithActor(ctx, storage.InboxActivity{IRI: id, Type: "Like", ActorIRI: actor, ObjectIRI: urls.Memo(), Body: body, KeyID: actor + "#main-key", ReceivedAt: time.Now()}, nil); err != nil {
			t.Fatal(err)
		}
	}
}

// Deliveries give way while a backlog waits to be applied (Behind), and only then; while requests are being
// received the apply takes small batches, and still applies everything.
func TestApplyBacklogIsReported(t *testing.T) {
	store, urls, in := applyOnly(t)
	ctx := context.Background()
	if in.Behind() {
		t.Fatal("behind before anything was received")
	}
	pendingLikes(t, store, urls, 0, 3*applyBatchIdle)
	var sawBehind atomic.Bool
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if in.Behind() {
				sawBehind.Store(true)
			}
			time.Sleep(50 * time.Microsecond)
		}
	}()
	done, err := in.ProcessPending(ctx)
	close(stop)
	<-watched
	if err != nil || done != 3*applyBatchIdle {
		t.Fatalf("processed %d of %d: %v", done, 3*applyBatchIdle, err)
	}
	if !sawBehind.Load() {
		t.Error("Behind never reported the backlog of three full batches")
	}
	if in.Behind() {
		t.Error("still behind once everything is applied")
	}

	// Receiving: batches of applyBatchBusy, and nothing is left out.
	in.receiving.Store(busyReceiving)
	defer in.receiving.Store(0)
	if !in.Busy() {
		t.Fatal("not busy while receiving")
	}
	pendingLikes(t, store, urls, 3*applyBatchIdle, 5*applyBatchIdle+3)
	if done, err := in.ProcessPending(ctx); err != nil || done != 2*applyBatchIdle+3 {
		t.Fatalf("processed %d of %d while busy: %v", done, 2*applyBatchIdle+3, err)
	}
}

// With nothing pending, the worker begins no transaction: it is kicked at every request of a burst, and an empty
// transaction took SQLite's one writer from the receiving side's commits. Here a transaction holds the writer while
// the worker runs: it must return at once, with nothing done.
func TestNothingPendingTakesNoWriter(t *testing.T) {
	store, _, in := applyOnly(t)
	ctx := context.Background()
	holding, release, held := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		held <- store.InTx(ctx, func(*storage.Tx) error {
			close(holding)
			<-release
			return nil
		})
	}()
	<-holding
	// A worker that waited for the writer would wait for this context to end (the held transaction ends only
	// after): its error tells.
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	n, err := in.ProcessPending(wctx)
	waited := wctx.Err()
	cancel()
	close(release)
	if err != nil || n != 0 || waited != nil {
		t.Errorf("ProcessPending with nothing pending and the writer busy = %d, %v (its context: %v); want 0 at once", n, err, waited)
	}
	if err := <-held; err != nil {
		t.Fatal(err)
	}
}
