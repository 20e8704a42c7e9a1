package org.tlsrelay.core.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.MDC;

class LogFieldsTest {
    @AfterEach
    void clear() {
        MDC.clear();
    }

    @Test
    void fieldsAreInTheMdcWhileTheLineIsLoggedAndWhatWasThereBeforeComesBack() {
        MDC.put("queueId", "outer");
        try (LogFields f = LogFields.of("queueId", "inner", "to", "bob@example.com", "orcpt", "")) {
            assertEquals("inner", MDC.get("queueId"));
            assertEquals("bob@example.com", MDC.get("to"));
            assertNull(MDC.get("orcpt"), "an empty value leaves its key out");
        }
        assertEquals("outer", MDC.get("queueId"));
        assertNull(MDC.get("to"));
    }
}
