// Package batch gathers the requests that queue up while the previous group is being written, so that one
// transaction and one commit serve all of them (group commit).
package batch

// Next waits for a first item on in, then takes what else is already queued, up to max items in all. It returns
// false, and nothing, once stop is closed while it waits for the first.
func Next[T any](in <-chan T, stop <-chan struct{}, max int) ([]T, bool) {
	var items []T
	select {
	case it := <-in:
		items = append(items, it)
	case <-stop:
		return nil, false
	}
	for len(items) < max {
		select {
		case it := <-in:
			items = append(items, it)
		default:
			return items, true
		}
	}
	return items, true
}
