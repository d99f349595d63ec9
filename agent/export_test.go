package agent

// ShareAccount has a Client dialled with cfg share c's account of the
// channel, as a Payer's clients of one channel do.
func ShareAccount(cfg *Config, c *Client) { cfg.book = c.book }
