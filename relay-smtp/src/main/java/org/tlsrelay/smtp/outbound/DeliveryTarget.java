package org.tlsrelay.smtp.outbound;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Locale;

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
        return mxHost + "[" + ip(address) + "]:" + port;
    }

    /** The address as text; IPv6 in its short form (RFC 5952 §4: lower case, the longest run of zeros as ::). */
    static String ip(InetAddress a) {
        String text = a.getHostAddress();
        int scope = text.indexOf('%');
        if (!(a instanceof Inet6Address)) {
            return text;
        }
        String[] groups = (scope < 0 ? text : text.substring(0, scope)).split(":");
        int bestStart = -1;
        int bestLen = 1; // RFC 5952 §4.2.2: a single 0 group is not shortened
        for (int i = 0; i < groups.length; ) {
            int j = i;
            while (j < groups.length && Integer.parseInt(groups[j], 16) == 0) {
                j++;
            }
            if (j - i > bestLen) {
                bestStart = i;
                bestLen = j - i;
            }
            i = j == i ? i + 1 : j;
        }
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < groups.length; i++) {
            if (i == bestStart) {
                b.append("::");
                i += bestLen - 1;
                continue;
            }
            if (b.length() > 0 && b.charAt(b.length() - 1) != ':') {
                b.append(':');
            }
            b.append(Integer.toHexString(Integer.parseInt(groups[i], 16)));
        }
        return b.toString();
    }
}
