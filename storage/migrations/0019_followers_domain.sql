-- FEP-8fcf asks, for each delivery to our followers, which of them live on the receiving server: by host, indexed.
CREATE INDEX followers_domain ON followers (domain, actor_iri);
