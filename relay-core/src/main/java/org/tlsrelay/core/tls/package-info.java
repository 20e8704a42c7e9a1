/** TLS trust shared by every outbound connection: MX delivery, MTA-STS policy fetches and policy-list downloads. */
package org.tlsrelay.core.tls;
