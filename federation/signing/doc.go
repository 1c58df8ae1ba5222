// Package signing holds the rules that turn a reply to the memo into a signature: which text counts as signing,
// which visibility makes it public or private, what the stored record keeps, and the ownership checks that make a
// forged reply fail. Everything here is a plain function over already-parsed JSON, so the inbox can call it and the
// tests can drive it without a network.
//
// # What counts as signing
//
// The note's HTML is reduced to text (Normalize): tags dropped, the text of links dropped except hashtags (so a
// mention, h-card or pasted URL never carries a phrase), bare @user@host and URLs removed, compatibility forms and
// accents folded, case folded, whitespace collapsed. Punctuation is kept because it bounds clauses.
//
// A phrase matches whole words only ("designer" does not contain "sign"; "I signed" does not contain "I sign":
// the past tense often describes something else, "I signed up", so it is left to the admin to add it as a phrase).
// Matching is accent-insensitive as the design asks, so "signé" also matches "signe". Because "signe" is also a
// noun ("un bon signe"), a one-word phrase right after a determiner ("un", "le", "en", "the", "a", "el"…) does not
// count.
//
// Negation: a phrase does not count when, in the same clause (clauses end at , ; : . ! ? and line breaks), one of
// the words in negationWords appears among the three words before it or the two words after it ("n'" and "n't"
// count as negations). So "je ne signe pas", "je signe pas", "ich unterschreibe nicht" and "no firmo" are
// comments, while "Non, je signe !" and "Je signe, pas de doute" are signatures. The same window holds the
// conditional markers "si", "if", "wenn", "falls". A phrase in a clause that ends with "?" is a question and does
// not count either. A reply with several phrases counts when any one of them counts.
//
// # Visibility
//
// As Mastodon reads it: the public collection (full IRI, "as:Public" or "Public") in to is public, in cc only is
// unlisted; otherwise the author's followers collection among the recipients is followers-only, and anything else
// is direct, an empty to and cc included. Pleroma's directMessage flag is direct whatever else is addressed.
// Public and unlisted replies make public signatures; followers-only and direct ones private signatures. Addressed
// is the only reader: the stored reply, interactions and the forwarded-note checks use it too.
package signing
