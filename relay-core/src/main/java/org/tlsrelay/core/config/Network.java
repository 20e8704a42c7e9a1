package org.tlsrelay.core.config;

import java.net.InetAddress;
import java.net.UnknownHostException;
import org.tlsrelay.core.dns.IpAddresses;

/** An IPv4 or IPv6 network in CIDR notation ({@code 127.0.0.0/8}, {@code ::1/128}); a bare address is a /32 or /128. */
public record Network(InetAddress base, int prefixLength) {

    public static Network parse(String text) {
        String t = text.trim();
        int slash = t.indexOf('/');
        String addr = slash < 0 ? t : t.substring(0, slash);
        if (!addr.matches("[0-9a-fA-F:.]+") || addr.isEmpty()) {
            throw new IllegalArgumentException(
                    "\"" + text + "\" is not a network (e.g. 192.0.2.0/24, 2001:db8::/32)");
        }
        InetAddress base;
        try {
            base = InetAddress.getByName(addr); // a literal: no DNS look-up happens
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("\"" + text + "\" is not a network address", e);
        }
        int max = base.getAddress().length * 8;
        int prefix = max;
        if (slash >= 0) {
            try {
                prefix = Integer.parseInt(t.substring(slash + 1));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(
                        "\"" + text + "\" has no valid prefix length", e);
            }
            if (prefix < 0 || prefix > max) {
                throw new IllegalArgumentException(
                        "\"" + text + "\": prefix length must be 0.." + max);
            }
        }
        return new Network(base, prefix);
    }

    /** Whether {@code address} lies in this network. IPv4-mapped IPv6 addresses are compared as IPv4. */
    public boolean contains(InetAddress address) {
        byte[] a = unmap(address.getAddress());
        byte[] b = base.getAddress();
        if (a.length != b.length) {
            return false;
        }
        int full = prefixLength / 8;
        for (int i = 0; i < full; i++) {
            if (a[i] != b[i]) {
                return false;
            }
        }
        int rest = prefixLength % 8;
        if (rest == 0) {
            return true;
        }
        int mask = (0xFF << (8 - rest)) & 0xFF;
        return (a[full] & mask) == (b[full] & mask);
    }

    private static byte[] unmap(byte[] a) {
        if (a.length != 16) {
            return a;
        }
        for (int i = 0; i < 10; i++) {
            if (a[i] != 0) {
                return a;
            }
        }
        if (a[10] != (byte) 0xFF || a[11] != (byte) 0xFF) {
            return a;
        }
        return new byte[] {a[12], a[13], a[14], a[15]};
    }

    @Override
    public String toString() {
        return IpAddresses.text(base) + "/" + prefixLength;
    }
}
