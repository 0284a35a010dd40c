/**
 * Every test file runs behind the connect guard (vitest `setupFiles`): whatever a test or the
 * code under it dials, nothing leaves loopback and the lab's ranges (connect-guard.ts).
 */
import { guardOutboundConnections } from './connect-guard.ts';

guardOutboundConnections();
