package org.tlsrelay.smtp.outbound;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Locale;
import org.tlsrelay.core.dns.IpAddresses;

/**
 * Where one attempt connects: the MX host name as DNS gave it (for SNI, the certificate name check and the policy's
 * MX patterns), one of its addresses, and the port ({@code delivery.port}). The caller resolves the name; this client
 * does no DNS.
 */
public record DeliveryTarget(String mxHost, InetAddress address, int port) {
    public DeliveryTarget {
        String h = mxHost.trim().toLowerCase(Locale.ROOT);
        mxHost = h.endsWith(".") ? h.substring(0, h.length() - 1) : h;
        if (mxHost.isEmpty()) {
            throw new IllegalArgumentException("an MX host name is required");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " is out of range 1..65535");
        }
    }

    InetSocketAddress socketAddress() {
        return new InetSocketAddress(address, port);
    }

    /**
     * {@code mx.example.net[192.0.2.1]:25}, {@code mx.example.net[2001:db8::25]:25}: Postfix's notation, as the log's
     * {@code relay=} shows it.
     */
    @Override
    public String toString() {
        return mxHost + "[" + IpAddresses.text(address) + "]:" + port;
    }
}
