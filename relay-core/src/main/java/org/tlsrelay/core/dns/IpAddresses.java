package org.tlsrelay.core.dns;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * IP addresses as people write them: IPv6 in the short form of RFC 5952 §4 ({@code ::1}, {@code 2001:db8::25}), not
 * the JDK's {@code 0:0:0:0:0:0:0:1}; with a port, IPv6 in brackets ({@code [::1]:25}).
 */
public final class IpAddresses {
    private IpAddresses() {}

    /** {@code 192.0.2.1}, {@code ::1}, {@code fe80::1%eth0}. */
    public static String text(InetAddress address) {
        if (!(address instanceof Inet6Address v6)) {
            return address.getHostAddress();
        }
        byte[] b = v6.getAddress();
        int[] groups = new int[8];
        for (int i = 0; i < 8; i++) {
            groups[i] = ((b[2 * i] & 0xff) << 8) | (b[2 * i + 1] & 0xff);
        }
        // RFC 5952 §4.2: the longest run of two or more zero groups becomes "::", the first of
        // equals
        int bestStart = -1;
        int bestLength = 1;
        for (int i = 0; i < 8; ) {
            int j = i;
            while (j < 8 && groups[j] == 0) {
                j++;
            }
            if (j - i > bestLength) {
                bestStart = i;
                bestLength = j - i;
            }
            i = j == i ? i + 1 : j;
        }
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                s.append("::");
                i += bestLength - 1;
                continue;
            }
            if (s.length() > 0 && s.charAt(s.length() - 1) != ':') {
                s.append(':');
            }
            s.append(Integer.toHexString(groups[i])); // §4.1 no leading zeros, §4.3 lower case
        }
        String scope = v6.getHostAddress();
        int percent = scope.indexOf('%');
        return percent < 0 ? s.toString() : s + scope.substring(percent);
    }

    /** {@code 192.0.2.1:25}, {@code [::1]:2525}. */
    public static String withPort(InetAddress address, int port) {
        String host = text(address);
        return (address instanceof Inet6Address ? "[" + host + "]" : host) + ":" + port;
    }

    /** {@link #withPort} of a socket address; an unresolved one by its name. */
    public static String withPort(InetSocketAddress address) {
        return address.getAddress() != null
                ? withPort(address.getAddress(), address.getPort())
                : address.getHostString() + ":" + address.getPort();
    }
}
