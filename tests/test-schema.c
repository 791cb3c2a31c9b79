/* test-schema.c: QmpSchema against the real schemas of qemu-system-x86_64
 * and qemu-storage-daemon, the guest agent that has none, and scripted
 * peers for what no real one does on demand (a hostile schema, counting
 * the queries, proving that nothing is sent)
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <signal.h>
#include <string.h>

#include <qmp-glib.h>

#include "qmp-test-utils.h"

/* ------------------------------------------------------------- helpers */

static JsonObject *
object_from_json (const char *json)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = json_from_string (json, &error);

  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));

  return json_object_ref (json_node_get_object (node));
}

static QmpConnection *
connect_peer (QmpTestPeer *peer,
              QmpConnectionFlags flags)
{
  g_autoptr(GError) error = NULL;
  QmpConnection *connection;

  connection = qmp_connection_new_for_address_sync (qmp_test_peer_get_address (peer), flags,
                                                    NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (connection);

  return connection;
}

static gboolean
is_builtin_name (const char *name)
{
  static const char * const builtins[] = { "str", "int", "number", "bool", "null", "any", NULL };

  return g_strv_contains (builtins, name);
}

static gboolean
is_number (const char *text)
{
  if (*text == '\0')
    return FALSE;
  for (; *text != '\0'; text++)
    if (!g_ascii_isdigit (*text))
      return FALSE;
  return TRUE;
}

/* One value of each JSON type, for qmp_schema_type_accepts(). */
static const char * const sample_values[] = { "\"s\"", "7", "1.5", "true", "null", "[]", "{}" };

/* What qmp_schema_type_accepts() must say, from the kind and JSON type
 * alone; an alternate among alternatives (which QAPI does not allow) is
 * taken as accepting anything, as the library does. */
static gboolean
expect_accepts (QmpSchemaType *type,
                JsonNode      *value,
                gboolean       in_alternate)
{
  GType value_type = JSON_NODE_HOLDS_VALUE (value) ? json_node_get_value_type (value) : G_TYPE_INVALID;
  const char *json_type = qmp_schema_type_get_json_type (type);

  switch (qmp_schema_type_get_kind (type))
    {
    case QMP_SCHEMA_TYPE_KIND_BUILTIN:
      if (g_str_equal (json_type, "string"))
        return value_type == G_TYPE_STRING;
      if (g_str_equal (json_type, "int"))
        return value_type == G_TYPE_INT64;
      if (g_str_equal (json_type, "number"))
        return value_type == G_TYPE_INT64 || value_type == G_TYPE_DOUBLE;
      if (g_str_equal (json_type, "boolean"))
        return value_type == G_TYPE_BOOLEAN;
      if (g_str_equal (json_type, "null"))
        return JSON_NODE_HOLDS_NULL (value);
      return TRUE;
    case QMP_SCHEMA_TYPE_KIND_ENUM:
      return value_type == G_TYPE_STRING;
    case QMP_SCHEMA_TYPE_KIND_ARRAY:
      return JSON_NODE_HOLDS_ARRAY (value);
    case QMP_SCHEMA_TYPE_KIND_OBJECT:
      return JSON_NODE_HOLDS_OBJECT (value);
    case QMP_SCHEMA_TYPE_KIND_ALTERNATE:
      if (in_alternate)
        return TRUE;
      for (guint i = 0; i < qmp_schema_type_get_n_alternatives (type); i++)
        {
          g_autoptr(QmpSchemaType) alternative = qmp_schema_type_get_alternative (type, i);

          if (expect_accepts (alternative, value, TRUE))
            return TRUE;
        }
      return FALSE;
    case QMP_SCHEMA_TYPE_KIND_UNKNOWN:
    default:
      return TRUE;
    }
}

static void
check_accepts (QmpSchemaType *type)
{
  for (guint i = 0; i < G_N_ELEMENTS (sample_values); i++)
    {
      g_autoptr(JsonNode) value = json_from_string (sample_values[i], NULL);

      g_assert_cmpint (qmp_schema_type_accepts (type, value), ==, expect_accepts (type, value, FALSE));
    }
}

/* Visits every type reachable from @type once; asserts that no masked
 * name ("123") shows through the API. */
static void
walk_type (QmpSchemaType *type,
           GPtrArray     *seen)
{
  g_autofree char *text = NULL;
  const char *name;

  for (guint i = 0; i < seen->len; i++)
    if (qmp_schema_type_equal (type, seen->pdata[i]))
      return;
  g_ptr_array_add (seen, qmp_schema_type_ref (type));

  name = qmp_schema_type_get_name (type);
  text = qmp_schema_type_to_string (type);
  g_assert_true (name == NULL || is_builtin_name (name));
  g_assert_false (is_number (text));
  g_assert_null (strpbrk (text, "0123456789"));
  g_assert_nonnull (qmp_schema_type_get_features (type));
  check_accepts (type);

  switch (qmp_schema_type_get_kind (type))
    {
    case QMP_SCHEMA_TYPE_KIND_BUILTIN:
      g_assert_nonnull (name);
      g_assert_nonnull (qmp_schema_type_get_json_type (type));
      break;

    case QMP_SCHEMA_TYPE_KIND_ENUM:
      {
        const char * const *values = qmp_schema_type_get_enum_values (type);

        g_assert_nonnull (values);
        g_assert_null (name);
        for (guint i = 0; values[i] != NULL; i++)
          g_assert_nonnull (qmp_schema_type_get_enum_value_features (type, values[i]));
      }
      break;

    case QMP_SCHEMA_TYPE_KIND_ARRAY:
      {
        g_autoptr(QmpSchemaType) element = qmp_schema_type_get_element_type (type);

        g_assert_null (name);
        walk_type (element, seen);
      }
      break;

    case QMP_SCHEMA_TYPE_KIND_OBJECT:
      {
        g_auto(GStrv) variants = qmp_schema_type_get_variant_names (type);
        const char *tag = qmp_schema_type_get_discriminator (type);

        g_assert_null (name);
        for (guint i = 0; i < qmp_schema_type_get_n_members (type); i++)
          {
            g_autoptr(QmpSchemaType) member = qmp_schema_type_get_member_type (type, i);
            const char *member_name = qmp_schema_type_get_member_name (type, i);

            g_assert_cmpint (qmp_schema_type_find_member (type, member_name), ==, (int) i);
            g_assert_nonnull (qmp_schema_type_get_member_features (type, i));
            walk_type (member, seen);
          }
        g_assert_true (tag != NULL || variants[0] == NULL);
        if (tag != NULL)
          g_assert_cmpint (qmp_schema_type_find_member (type, tag), >=, 0);
        for (guint i = 0; variants[i] != NULL; i++)
          {
            g_autoptr(QmpSchemaType) variant = qmp_schema_type_get_variant_type (type, variants[i]);

            g_assert_nonnull (variant);
            walk_type (variant, seen);
          }
      }
      break;

    case QMP_SCHEMA_TYPE_KIND_ALTERNATE:
      g_assert_null (name);
      for (guint i = 0; i < qmp_schema_type_get_n_alternatives (type); i++)
        {
          g_autoptr(QmpSchemaType) alternative = qmp_schema_type_get_alternative (type, i);

          walk_type (alternative, seen);
        }
      break;

    case QMP_SCHEMA_TYPE_KIND_UNKNOWN:
    default:
      break;
    }
}

/* Every type reachable from every command and event; returns how many. */
static guint
walk_schema (QmpSchema *schema)
{
  g_autoptr(GPtrArray) seen = g_ptr_array_new_with_free_func ((GDestroyNotify) qmp_schema_type_unref);
  g_auto(GStrv) commands = qmp_schema_list_commands (schema);
  g_auto(GStrv) events = qmp_schema_list_events (schema);

  for (guint i = 0; commands[i] != NULL; i++)
    {
      g_autoptr(QmpSchemaType) arguments = qmp_schema_get_command_arguments (schema, commands[i]);
      g_autoptr(QmpSchemaType) ret = qmp_schema_get_command_return (schema, commands[i]);

      if (i > 0)
        g_assert_cmpstr (commands[i - 1], <, commands[i]);
      g_assert_true (qmp_schema_has_command (schema, commands[i]));
      if (*commands[i] != '\0' && strchr (commands[i], '/') == NULL)
        g_assert_true (qmp_schema_has_path (schema, commands[i]));
      g_assert_nonnull (qmp_schema_get_command_features (schema, commands[i]));
      walk_type (arguments, seen);
      walk_type (ret, seen);
    }

  for (guint i = 0; events[i] != NULL; i++)
    {
      g_autoptr(QmpSchemaType) data = qmp_schema_get_event_data (schema, events[i]);

      g_assert_true (qmp_schema_has_event (schema, events[i]));
      g_assert_false (qmp_schema_has_command (schema, events[i]));
      g_assert_nonnull (qmp_schema_get_event_features (schema, events[i]));
      walk_type (data, seen);
    }

  return seen->len;
}

/* -------------------------------------------------- real qemu-system */

static void
test_qemu_lookup (void)
{
  g_autoptr(QmpTestPeer) peer = qmp_test_peer_start (QMP_TEST_PEER_QEMU_NONE, NULL);
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(QmpSchema) schema = NULL;
  g_autoptr(QmpSchema) again = NULL;
  g_autoptr(QmpSchemaType) device_add = NULL;
  g_autoptr(QmpSchemaType) blockdev_add = NULL;
  g_autoptr(QmpSchemaType) file = NULL;
  g_autoptr(QmpSchemaType) aio = NULL;
  g_autoptr(QmpSchemaType) status = NULL;
  g_autoptr(QmpSchemaType) status_type = NULL;
  g_autoptr(QmpSchemaType) filename = NULL;
  g_auto(GStrv) drivers = NULL;
  g_autoptr(GError) error = NULL;
  int i;

  if (peer == NULL)
    return;
  connection = connect_peer (peer, QMP_CONNECTION_FLAGS_NONE);

  schema = qmp_connection_get_schema_sync (connection, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (schema);
  again = qmp_connection_get_schema_sync (connection, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (again == schema);

  g_assert_true (qmp_schema_has_command (schema, "blockdev-add"));
  g_assert_true (qmp_schema_has_command (schema, "query-status"));
  g_assert_true (qmp_schema_has_command (schema, "query-qmp-schema"));
  g_assert_false (qmp_schema_has_command (schema, "x-no-such-command"));
  g_assert_false (qmp_schema_has_command (schema, "SHUTDOWN"));
  g_assert_false (qmp_schema_has_command (schema, "str"));
  g_assert_true (qmp_schema_has_event (schema, "SHUTDOWN"));
  g_assert_true (qmp_schema_has_event (schema, "DEVICE_DELETED"));
  g_assert_false (qmp_schema_has_event (schema, "query-status"));
  g_assert_null (qmp_schema_get_command_arguments (schema, "SHUTDOWN"));
  g_assert_null (qmp_schema_get_event_data (schema, "query-status"));
  g_assert_null (qmp_schema_get_command_features (schema, "x-no-such-command"));

  /* allow-oob: what qmp-peers.md lists for 7.2 */
  g_assert_true (qmp_schema_get_command_allow_oob (schema, "migrate-pause"));
  g_assert_true (qmp_schema_get_command_allow_oob (schema, "yank"));
  g_assert_false (qmp_schema_get_command_allow_oob (schema, "query-status"));

  /* device_add: driver, and the optional bus and id */
  device_add = qmp_schema_get_command_arguments (schema, "device_add");
  g_assert_cmpint (qmp_schema_type_get_kind (device_add), ==, QMP_SCHEMA_TYPE_KIND_OBJECT);
  i = qmp_schema_type_find_member (device_add, "driver");
  g_assert_cmpint (i, >=, 0);
  g_assert_false (qmp_schema_type_get_member_optional (device_add, i));
  i = qmp_schema_type_find_member (device_add, "bus");
  g_assert_cmpint (i, >=, 0);
  g_assert_true (qmp_schema_type_get_member_optional (device_add, i));
  g_assert_true (g_strv_contains (qmp_schema_get_command_features (schema, "device_add"), "json-cli"));

  /* blockdev-add: a union on driver */
  blockdev_add = qmp_schema_get_command_arguments (schema, "blockdev-add");
  g_assert_cmpstr (qmp_schema_type_get_discriminator (blockdev_add), ==, "driver");
  drivers = qmp_schema_type_get_variant_names (blockdev_add);
  g_assert_true (g_strv_contains ((const char * const *) drivers, "file"));
  g_assert_true (g_strv_contains ((const char * const *) drivers, "qcow2"));
  file = qmp_schema_type_get_variant_type (blockdev_add, "file");
  i = qmp_schema_type_find_member (file, "filename");
  g_assert_cmpint (i, >=, 0);
  filename = qmp_schema_type_get_member_type (file, i);
  g_assert_cmpstr (qmp_schema_type_get_name (filename), ==, "str");
  g_assert_cmpstr (qmp_schema_type_get_json_type (filename), ==, "string");
  aio = qmp_schema_get_path_type (schema, "blockdev-add/arg-type/+file/aio");
  g_assert_nonnull (aio);
  g_assert_cmpint (qmp_schema_type_get_kind (aio), ==, QMP_SCHEMA_TYPE_KIND_ENUM);
  g_assert_true (g_strv_contains (qmp_schema_type_get_enum_values (aio), "threads"));
  g_assert_true (g_strv_contains (qmp_schema_type_get_enum_values (aio), "native"));

  /* query-status returns an object whose status is an enum */
  status = qmp_schema_get_command_return (schema, "query-status");
  i = qmp_schema_type_find_member (status, "status");
  g_assert_cmpint (i, >=, 0);
  status_type = qmp_schema_type_get_member_type (status, i);
  g_assert_true (g_strv_contains (qmp_schema_type_get_enum_values (status_type), "running"));
  g_assert_true (g_strv_contains (qmp_schema_type_get_enum_values (status_type), "paused"));

  /* Every type reachable from a command or event, no masked name. */
  g_assert_cmpuint (walk_schema (schema), >, 500);

  /* The schema from the reply's text (what get_schema builds) and from
   * its tree are the same. */
  {
    g_autoptr(JsonNode) reply = qmp_connection_execute_sync (connection, "query-qmp-schema", NULL,
                                                             QMP_EXECUTE_FLAGS_NONE, NULL, &error);
    g_autoptr(QmpSchema) from_tree = NULL;
    g_auto(GStrv) commands = NULL;
    g_auto(GStrv) tree_commands = NULL;

    g_assert_no_error (error);
    from_tree = qmp_schema_new (reply, &error);
    g_assert_no_error (error);
    commands = qmp_schema_list_commands (schema);
    tree_commands = qmp_schema_list_commands (from_tree);
    g_assert_true (g_strv_equal ((const char * const *) commands, (const char * const *) tree_commands));
    g_assert_cmpuint (walk_schema (schema), ==, walk_schema (from_tree));
  }
}

static void
test_qemu_paths (void)
{
  g_autoptr(QmpTestPeer) peer = qmp_test_peer_start (QMP_TEST_PEER_QEMU_NONE, NULL);
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(QmpSchema) schema = NULL;
  g_autoptr(GError) error = NULL;
  gboolean has_channels, has_blk;
  static const char * const present[] = {
    /* libvirt's own examples */
    "blockdev-add/arg-type/+file/aio",
    "query-status/ret-type/status",
    "device_add/arg-type/driver",
    "query-status",
    "query-status/arg-type",
    "SHUTDOWN/arg-type/reason",
    "blockdev-add/arg-type/+file/aio/^threads",
    "blockdev-add/arg-type/+qcow2/*cache-size",
    "blockdev-add/arg-type/+qcow2/cache-size",
    "blockdev-add/arg-type/+file/filename/!string",
    "blockdev-add/arg-type/+qcow2/file/!string",   /* through an alternate */
    "query-status/ret-type/running/!boolean",
    "query-status/ret-type/status/^running",
    "query-block/ret-type/inserted/drv",            /* through an array */
    "migrate-set-parameters/arg-type/tls-creds/!null",
    "device_add/$json-cli",
    "drive-backup/$deprecated",
    "nbd-server-add/$deprecated",
    NULL
  };
  static const char * const absent[] = {
    "",
    "/",
    "x-no-such-command",
    "x-no-such-command/arg-type",
    "str",                                         /* types are not reachable by name */
    "blockdev-add/arg-type/+file/x-no-such-member",
    "blockdev-add/arg-type/+x-no-such-driver",
    "blockdev-add/arg-type/driver/*x",
    "blockdev-add/arg-type/*driver",                /* driver is not optional */
    "blockdev-add/arg-type/+file/aio/^x-no-such-mode",
    "blockdev-add/arg-type/+file/$x-no-such-feature",
    "blockdev-add//",
    "blockdev-add/name",
    "blockdev-add/arg-type/+file/aio/^threads/x",
    "query-status/ret-type/running/!string",
    "query-status/ret-type/status/!string",         /* an enum is no builtin */
    "device_add/$json-cli/x",
    "SHUTDOWN/ret-type",
    "query-status/arg-type/^x",
    NULL
  };

  if (peer == NULL)
    return;
  connection = connect_peer (peer, QMP_CONNECTION_FLAGS_NONE);
  schema = qmp_connection_get_schema_sync (connection, NULL, &error);
  g_assert_no_error (error);

  for (guint i = 0; present[i] != NULL; i++)
    {
      g_test_message ("present: %s", present[i]);
      g_assert_true (qmp_schema_has_path (schema, present[i]));
    }
  for (guint i = 0; absent[i] != NULL; i++)
    {
      g_test_message ("absent: %s", absent[i]);
      g_assert_false (qmp_schema_has_path (schema, absent[i]));
      g_assert_null (qmp_schema_get_path_type (schema, absent[i]));
    }

  /* A path that differs between versions: migrate's "channels" came in
   * QEMU 8.2, its "blk" went in 9.1.  Asserted per version, so that the
   * suite holds on 7.2 and on 10.0. */
  has_channels = qmp_schema_has_path (schema, "migrate/arg-type/channels");
  has_blk = qmp_schema_has_path (schema, "migrate/arg-type/blk");
  g_test_message ("QEMU %u.%u.%u: channels %d, blk %d",
                  qmp_connection_get_version_major (connection),
                  qmp_connection_get_version_minor (connection),
                  qmp_connection_get_version_micro (connection), has_channels, has_blk);
  g_assert_cmpint (has_channels, ==, qmp_connection_check_version (connection, 8, 2, 0));
  g_assert_cmpint (has_blk, ==, !qmp_connection_check_version (connection, 9, 1, 0));
  if (!qmp_connection_check_version (connection, 8, 0, 0))
    g_assert_true (qmp_schema_has_path (schema, "migrate/arg-type/*blk"));
}

/* ------------------------------------------- the check agrees with QEMU */

typedef struct
{
  const char *command;
  const char *arguments;
  const char *error;        /* NULL: the check accepts; else its message */
} Case;

/* Run in this order on one -M none QEMU (later cases use nodes of earlier
 * ones).  Accepted cases may still fail in QEMU, for a reason that is not
 * a type: a missing file. */
static const Case cases[] = {
  { "query-status", "{}", NULL },
  { "query-status", "{\"x\": 1}", "query-status: unknown member \"x\"" },
  { "blockdev-add", "{\"driver\": \"null-co\", \"node-name\": \"n1\"}", NULL },
  { "blockdev-add", "{\"driver\": \"null-co\", \"node-name\": \"n2\", \"size\": 1048576, \"read-only\": true}", NULL },
  { "blockdev-add", "{\"driver\": \"null-co\", \"node-name\": 3}",
    "blockdev-add: node-name: expected a string, got an integer" },
  { "blockdev-add", "{\"drvier\": \"null-co\", \"node-name\": \"n3\"}", "blockdev-add: unknown member \"drvier\"" },
  { "blockdev-add", "{\"node-name\": \"n4\"}", "blockdev-add: missing member \"driver\"" },
  { "blockdev-add", "{\"driver\": \"x-no-such-driver\", \"node-name\": \"n5\"}", "*driver: expected one of*" },
  { "blockdev-add", "{\"driver\": \"file\", \"node-name\": \"n6\", \"filename\": 5}",
    "blockdev-add: filename: expected a string, got an integer" },
  { "blockdev-add", "{\"driver\": \"file\", \"node-name\": \"n7\", \"filename\": \"/nonexistent/qmp-glib\"}", NULL },
  { "blockdev-add", "{\"driver\": \"file\", \"node-name\": \"n8\", \"filename\": \"/x\", \"aio\": \"fast\"}",
    "blockdev-add: aio: expected one of \"threads\", \"native\", \"io_uring\", got \"fast\"" },
  { "blockdev-add", "{\"driver\": \"null-co\", \"node-name\": \"n9\", \"read-only\": \"yes\"}",
    "blockdev-add: read-only: expected a boolean, got a string" },
  { "blockdev-add", "{\"driver\": \"null-co\", \"node-name\": \"n10\", \"size\": 1.5}",
    "blockdev-add: size: expected an integer, got a number" },
  { "blockdev-add", "{\"driver\": \"null-co\", \"node-name\": \"n11\", \"x-bogus\": 1}",
    "blockdev-add: unknown member \"x-bogus\"" },
  /* file is an alternate: a node name, or the options of a new node */
  { "blockdev-add", "{\"driver\": \"raw\", \"node-name\": \"n12\", \"file\": \"n1\"}", NULL },
  { "blockdev-add", "{\"driver\": \"raw\", \"node-name\": \"n13\", \"file\": {\"driver\": \"null-co\"}}", NULL },
  { "blockdev-add", "{\"driver\": \"raw\", \"node-name\": \"n14\", \"file\": 7}",
    "blockdev-add: file: expected an object or a string, got an integer" },
  { "blockdev-add", "{\"driver\": \"raw\", \"node-name\": \"n15\", \"file\": {\"driver\": \"null-co\", \"x-bogus\": 1}}",
    "blockdev-add: file: unknown member \"x-bogus\"" },
  { "blockdev-add", "{\"driver\": \"raw\", \"node-name\": \"n16\", \"file\": {\"driver\": \"file\", \"filename\": 1}}",
    "blockdev-add: file.filename: expected a string, got an integer" },
  /* device_add takes any property of the device */
  { "device_add", "{\"driver\": \"x-no-such-device\", \"id\": \"d0\", \"mac\": \"52:54:00:12:34:56\"}", NULL },
  { "device_add", "{\"id\": \"d1\"}", "device_add: missing member \"driver\"" },
  { "device_add", "{\"driver\": 5}", "device_add: driver: expected a string, got an integer" },
  /* any */
  { "qom-set", "{\"path\": \"/machine\", \"property\": \"x-no-such-property\", \"value\": [1, {\"a\": null}]}", NULL },
  { "qom-get", "{\"path\": \"/machine\"}", "qom-get: missing member \"property\"" },
  /* StrOrNull, an alternate with null */
  { "migrate-set-parameters", "{\"tls-creds\": null}", NULL },
  { "migrate-set-parameters", "{\"tls-creds\": 5}",
    "migrate-set-parameters: tls-creds: expected a string or null, got an integer" },
  { "migrate-set-parameters", "{\"max-bandwidth\": 1.5}",
    "migrate-set-parameters: max-bandwidth: expected an integer, got a number" },
  { "human-monitor-command", "{\"command-line\": \"info version\"}", NULL },
  { "human-monitor-command", "{\"command-line\": [\"info\"]}",
    "human-monitor-command: command-line: expected a string, got an array" },
  /* object-add: a union on qom-type since QEMU 6.0 */
  { "object-add", "{\"qom-type\": \"iothread\", \"id\": \"io0\", \"poll-max-ns\": 0}", NULL },
  { "object-add", "{\"qom-type\": \"iothread\", \"id\": \"io1\", \"poll-max-ns\": \"x\"}",
    "object-add: poll-max-ns: expected an integer, got a string" },
  { "object-add", "{\"qom-type\": \"iothread\", \"id\": \"io2\", \"x-bogus\": 1}",
    "object-add: unknown member \"x-bogus\"" },
  { "object-add", "{\"qom-type\": \"x-no-such-type\", \"id\": \"io3\"}", "*qom-type: expected one of*" },
};

/* How QEMU's QMP input visitor words a refusal for a type reason. */
static gboolean
is_type_refusal (const char *message)
{
  return strstr (message, "Invalid parameter type") != NULL ||
         (strstr (message, "Parameter '") != NULL &&
          (strstr (message, "is missing") != NULL ||
           strstr (message, "is unexpected") != NULL ||
           strstr (message, "' expects ") != NULL ||
           strstr (message, "does not accept value") != NULL)) ||
         strstr (message, "Invalid parameter '") != NULL;
}

static void
test_qemu_agreement (void)
{
  g_autoptr(QmpTestPeer) peer = qmp_test_peer_start (QMP_TEST_PEER_QEMU_NONE, NULL);
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(QmpSchema) schema = NULL;
  g_autoptr(GError) error = NULL;

  if (peer == NULL)
    return;
  connection = connect_peer (peer, QMP_CONNECTION_FLAGS_NONE);
  schema = qmp_connection_get_schema_sync (connection, NULL, &error);
  g_assert_no_error (error);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(JsonObject) arguments = object_from_json (cases[i].arguments);
      g_autoptr(GError) check_error = NULL;
      g_autoptr(GError) qemu_error = NULL;
      g_autoptr(JsonNode) ret = NULL;
      gboolean accepted;

      accepted = qmp_schema_validate_arguments (schema, cases[i].command, arguments, &check_error);
      ret = qmp_connection_execute_sync (connection, cases[i].command, arguments,
                                         QMP_EXECUTE_FLAGS_NONE, NULL, &qemu_error);
      g_test_message ("%s %s: check: %s; QEMU: %s", cases[i].command, cases[i].arguments,
                      accepted ? "accepted" : check_error->message,
                      ret != NULL ? "done" : qemu_error->message);

      if (cases[i].error == NULL)
        {
          g_assert_no_error (check_error);
          g_assert_true (accepted);
          /* QEMU may fail, but not for a type reason. */
          if (qemu_error != NULL)
            {
              g_assert_true (g_error_matches (qemu_error, QMP_ERROR, QMP_ERROR_GENERIC_ERROR));
              g_assert_false (is_type_refusal (qemu_error->message));
            }
        }
      else
        {
          g_assert_error (check_error, QMP_ERROR, QMP_ERROR_INVALID_ARGUMENTS);
          g_assert_true (g_pattern_match_simple (cases[i].error, check_error->message));
          g_assert_false (accepted);
          g_assert_error (qemu_error, QMP_ERROR, QMP_ERROR_GENERIC_ERROR);
          /* device_add parses its own arguments ('gen': false): QEMU 7.2
           * takes {"driver": 5} as the model "5", and refuses it as such. */
          if (!g_str_equal (cases[i].command, "device_add"))
            g_assert_true (is_type_refusal (qemu_error->message));
        }
    }
}

/* qmp_schema_type_accepts() against QEMU's input visitor: the value of
 * one member, put in arguments that are valid otherwise.  QEMU refuses a
 * value of the wrong JSON type with "Invalid parameter type" (or, for the
 * sized integers, "Parameter 'x' expects uint64"), and only that; a string
 * that is no value of an enum is refused in other words. */
typedef struct
{
  const char *path;         /* of the member's type */
  const char *command;
  const char *arguments;    /* with @ for the value */
  const char *value;
  gboolean accepts;
} AcceptsCase;

static const AcceptsCase accepts_cases[] = {
  /* str */
  { "qom-list/arg-type/path", "qom-list", "{\"path\": @}", "\"/machine\"", TRUE },
  { "qom-list/arg-type/path", "qom-list", "{\"path\": @}", "123", FALSE },
  { "qom-list/arg-type/path", "qom-list", "{\"path\": @}", "null", FALSE },
  { "qom-list/arg-type/path", "qom-list", "{\"path\": @}", "true", FALSE },
  { "qom-list/arg-type/path", "qom-list", "{\"path\": @}", "[\"/machine\"]", FALSE },
  { "qom-list/arg-type/path", "qom-list", "{\"path\": @}", "{}", FALSE },
  /* an enum: any string is of its JSON type */
  { "blockdev-add/arg-type/+file/aio", "blockdev-add",
    "{\"driver\": \"file\", \"node-name\": \"f0\", \"filename\": \"/nonexistent\", \"aio\": @}",
    "\"threads\"", TRUE },
  { "blockdev-add/arg-type/+file/aio", "blockdev-add",
    "{\"driver\": \"file\", \"node-name\": \"f1\", \"filename\": \"/nonexistent\", \"aio\": @}",
    "\"x-no-such-mode\"", TRUE },
  { "blockdev-add/arg-type/+file/aio", "blockdev-add",
    "{\"driver\": \"file\", \"node-name\": \"f2\", \"filename\": \"/nonexistent\", \"aio\": @}",
    "1", FALSE },
  /* int; size, which is an int too */
  { "migrate-set-parameters/arg-type/max-bandwidth", "migrate-set-parameters",
    "{\"max-bandwidth\": @}", "1048576", TRUE },
  { "migrate-set-parameters/arg-type/max-bandwidth", "migrate-set-parameters",
    "{\"max-bandwidth\": @}", "1.5", FALSE },
  { "migrate-set-parameters/arg-type/max-bandwidth", "migrate-set-parameters",
    "{\"max-bandwidth\": @}", "\"1048576\"", FALSE },
  { "blockdev-add/arg-type/+null-co/size", "blockdev-add",
    "{\"driver\": \"null-co\", \"node-name\": \"s0\", \"size\": @}", "512", TRUE },
  { "blockdev-add/arg-type/+null-co/size", "blockdev-add",
    "{\"driver\": \"null-co\", \"node-name\": \"s1\", \"size\": @}", "\"512\"", FALSE },
  /* bool */
  { "blockdev-add/arg-type/read-only", "blockdev-add",
    "{\"driver\": \"null-co\", \"node-name\": \"b0\", \"read-only\": @}", "true", TRUE },
  { "blockdev-add/arg-type/read-only", "blockdev-add",
    "{\"driver\": \"null-co\", \"node-name\": \"b1\", \"read-only\": @}", "\"on\"", FALSE },
  { "blockdev-add/arg-type/read-only", "blockdev-add",
    "{\"driver\": \"null-co\", \"node-name\": \"b2\", \"read-only\": @}", "1", FALSE },
  /* StrOrNull, an alternate with null */
  { "migrate-set-parameters/arg-type/tls-creds", "migrate-set-parameters",
    "{\"tls-creds\": @}", "\"\"", TRUE },
  { "migrate-set-parameters/arg-type/tls-creds", "migrate-set-parameters",
    "{\"tls-creds\": @}", "null", TRUE },
  { "migrate-set-parameters/arg-type/tls-creds", "migrate-set-parameters",
    "{\"tls-creds\": @}", "5", FALSE },
  { "migrate-set-parameters/arg-type/tls-creds", "migrate-set-parameters",
    "{\"tls-creds\": @}", "{}", FALSE },
  /* BlockdevRef, an alternate of an object and a string */
  { "blockdev-add/arg-type/+raw/file", "blockdev-add",
    "{\"driver\": \"raw\", \"node-name\": \"r0\", \"file\": @}", "\"x-no-such-node\"", TRUE },
  { "blockdev-add/arg-type/+raw/file", "blockdev-add",
    "{\"driver\": \"raw\", \"node-name\": \"r1\", \"file\": @}", "{\"driver\": \"null-co\"}", TRUE },
  { "blockdev-add/arg-type/+raw/file", "blockdev-add",
    "{\"driver\": \"raw\", \"node-name\": \"r2\", \"file\": @}", "7", FALSE },
  { "blockdev-add/arg-type/+raw/file", "blockdev-add",
    "{\"driver\": \"raw\", \"node-name\": \"r3\", \"file\": @}", "[]", FALSE },
  /* an array of BlockdevRef */
  { "blockdev-add/arg-type/+quorum/children", "blockdev-add",
    "{\"driver\": \"quorum\", \"node-name\": \"q0\", \"vote-threshold\": 1, \"children\": @}",
    "[\"x-no-such-node\"]", TRUE },
  { "blockdev-add/arg-type/+quorum/children", "blockdev-add",
    "{\"driver\": \"quorum\", \"node-name\": \"q1\", \"vote-threshold\": 1, \"children\": @}",
    "\"x-no-such-node\"", FALSE },
  { "blockdev-add/arg-type/+quorum/children", "blockdev-add",
    "{\"driver\": \"quorum\", \"node-name\": \"q2\", \"vote-threshold\": 1, \"children\": @}",
    "{}", FALSE },
  /* any */
  { "qom-set/arg-type/value", "qom-set",
    "{\"path\": \"/machine\", \"property\": \"x-no-such-property\", \"value\": @}", "[1]", TRUE },
  { "qom-set/arg-type/value", "qom-set",
    "{\"path\": \"/machine\", \"property\": \"x-no-such-property\", \"value\": @}", "null", TRUE },
  { "qom-set/arg-type/value", "qom-set",
    "{\"path\": \"/machine\", \"property\": \"x-no-such-property\", \"value\": @}", "\"s\"", TRUE },
};

static void
test_qemu_accepts (void)
{
  g_autoptr(QmpTestPeer) peer = qmp_test_peer_start (QMP_TEST_PEER_QEMU_NONE, NULL);
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(QmpSchema) schema = NULL;
  g_autoptr(GError) error = NULL;

  if (peer == NULL)
    return;
  connection = connect_peer (peer, QMP_CONNECTION_FLAGS_NONE);
  schema = qmp_connection_get_schema_sync (connection, NULL, &error);
  g_assert_no_error (error);

  for (guint i = 0; i < G_N_ELEMENTS (accepts_cases); i++)
    {
      const AcceptsCase *c = &accepts_cases[i];
      g_autoptr(QmpSchemaType) type = qmp_schema_get_path_type (schema, c->path);
      g_autoptr(JsonNode) value = json_from_string (c->value, &error);
      g_autoptr(GString) text = g_string_new (c->arguments);
      g_autoptr(JsonObject) arguments = NULL;
      g_autoptr(GError) qemu_error = NULL;
      g_autoptr(JsonNode) ret = NULL;
      gboolean type_refused;

      g_assert_no_error (error);
      g_assert_nonnull (type);
      g_string_replace (text, "@", c->value, 1);
      arguments = object_from_json (text->str);
      ret = qmp_connection_execute_sync (connection, c->command, arguments,
                                         QMP_EXECUTE_FLAGS_NONE, NULL, &qemu_error);
      type_refused = qemu_error != NULL &&
                     (strstr (qemu_error->message, "Invalid parameter type") != NULL ||
                      strstr (qemu_error->message, "' expects ") != NULL);
      g_test_message ("%s = %s: accepts: %d; QEMU: %s", c->path, c->value, c->accepts,
                      ret != NULL ? "done" : qemu_error->message);

      g_assert_cmpint (qmp_schema_type_accepts (type, value), ==, c->accepts);
      g_assert_cmpint (type_refused, ==, !c->accepts);
    }
}

/* The flag and the property on the real thing: the exact messages, and a
 * deprecated command logged once. */
static void
test_qemu_validate (void)
{
  g_autoptr(QmpTestPeer) peer = qmp_test_peer_start (QMP_TEST_PEER_QEMU_NONE, NULL);
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(QmpSchema) schema = NULL;
  g_autoptr(JsonObject) typo = object_from_json ("{\"drvier\": \"null-co\", \"node-name\": \"t0\"}");
  g_autoptr(JsonObject) good = object_from_json ("{\"driver\": \"null-co\", \"node-name\": \"t1\"}");
  g_autoptr(JsonObject) backup = object_from_json ("{\"device\": \"t1\"}");
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(JsonNode) nodes = NULL;

  if (peer == NULL)
    return;
  connection = connect_peer (peer, QMP_CONNECTION_FLAGS_NONE);

  /* _async first, before the schema is there: it is fetched, then checked. */
  qmp_connection_execute_async (connection, "blockdev-add", typo, QMP_EXECUTE_FLAGS_VALIDATE,
                                NULL, qmp_test_store_result, &result);
  g_clear_pointer (&typo, json_object_unref);   /* the call keeps its own copy */
  result = qmp_test_wait_result (&result);
  ret = qmp_connection_execute_finish (connection, result, &error);
  g_assert_null (ret);
  g_assert_error (error, QMP_ERROR, QMP_ERROR_INVALID_ARGUMENTS);
  g_assert_cmpstr (error->message, ==, "blockdev-add: unknown member \"drvier\"");
  g_clear_error (&error);
  g_clear_object (&result);

  qmp_connection_execute_async (connection, "blockdev-add", good, QMP_EXECUTE_FLAGS_VALIDATE,
                                NULL, qmp_test_store_result, &result);
  result = qmp_test_wait_result (&result);
  ret = qmp_connection_execute_finish (connection, result, &error);
  g_assert_no_error (error);
  g_clear_pointer (&ret, json_node_unref);

  /* Nothing was sent for the typo: only t1 exists. */
  nodes = qmp_connection_execute_sync (connection, "query-named-block-nodes", NULL,
                                       QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (nodes)), ==, 1);

  /* The property: every call is checked, the typed commands too. */
  g_assert_false (qmp_connection_get_validate_arguments (connection));
  g_object_set (connection, "validate-arguments", TRUE, NULL);
  g_assert_true (qmp_connection_get_validate_arguments (connection));
  ret = qmp_connection_execute_sync (connection, "blockdev-add", good, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_error (error, QMP_ERROR, QMP_ERROR_GENERIC_ERROR);   /* t1 exists: QEMU says so */
  g_clear_error (&error);
  ret = qmp_connection_execute_sync (connection, "x-no-such-command", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_error (error, QMP_ERROR, QMP_ERROR_COMMAND_NOT_FOUND);
  g_clear_error (&error);

  /* A deprecated command: one warning per connection and name. */
  schema = qmp_connection_get_schema_sync (connection, NULL, &error);
  g_assert_no_error (error);
  if (qmp_schema_has_path (schema, "drive-backup/$deprecated"))
    {
      g_test_expect_message ("Qmp", G_LOG_LEVEL_WARNING, "The command drive-backup is deprecated");
      ret = qmp_connection_execute_sync (connection, "drive-backup", backup, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
      g_test_assert_expected_messages ();
      g_assert_error (error, QMP_ERROR, QMP_ERROR_INVALID_ARGUMENTS);
      g_assert_true (g_str_has_prefix (error->message, "drive-backup: missing member "));
      g_clear_error (&error);
      /* Warnings are fatal here: a second one would abort. */
      ret = qmp_connection_execute_sync (connection, "drive-backup", backup, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
      g_assert_error (error, QMP_ERROR, QMP_ERROR_INVALID_ARGUMENTS);
      g_clear_error (&error);
    }
  else
    g_assert_true (qmp_connection_check_version (connection, 9, 0, 0));
}

/* A checked _sync call made in a thread of its own, which the test waits
 * for at most 10 s: a call that hangs fails the test, not the suite. */
typedef struct
{
  QmpConnection *connection;
  int timeout_msec;
  GMutex lock;
  GCond cond;
  gboolean done;
  GError *error;
  gint64 elapsed;
} TimedCall;

static gpointer
timed_call_thread (gpointer data)
{
  TimedCall *timed = data;
  gint64 start = g_get_monotonic_time ();
  g_autoptr(JsonNode) ret = NULL;
  GError *error = NULL;

  ret = qmp_connection_execute_full_sync (timed->connection, "query-status", NULL,
                                          QMP_EXECUTE_FLAGS_VALIDATE, timed->timeout_msec,
                                          NULL, &error);
  g_assert_null (ret);

  g_mutex_lock (&timed->lock);
  timed->error = error;
  timed->elapsed = g_get_monotonic_time () - start;
  timed->done = TRUE;
  g_cond_signal (&timed->cond);
  g_mutex_unlock (&timed->lock);

  return NULL;
}

/* Asserts that the schema's wait of a checked call took about
 * @timeout_msec, and failed as a timed-out call does. */
static void
assert_schema_timed_out (const GError *error,
                         const char   *command,
                         guint         timeout_msec,
                         gint64        elapsed)
{
  g_autofree char *message = g_strdup_printf ("Timed out after %u ms waiting for the server’s "
                                              "schema to check “%s”", timeout_msec, command);

  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_cmpstr (error->message, ==, message);
  g_assert_cmpint (elapsed, >=, (timeout_msec - 10) * G_TIME_SPAN_MILLISECOND);
  g_assert_cmpint (elapsed, <, 5 * G_TIME_SPAN_SECOND);
}

/* A QEMU stopped with SIGSTOP never answers query-qmp-schema: a checked
 * call's timeout, its own or the connection's, bounds its wait for the
 * schema too, while the query goes on for the calls after it. */
static void
test_qemu_validate_timeout (void)
{
  g_autoptr(QmpTestPeer) peer = qmp_test_peer_start (QMP_TEST_PEER_QEMU_NONE, NULL);
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(QmpEvent) event = NULL;
  g_autoptr(QmpSchema) schema = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;
  TimedCall timed = { NULL, };
  gint64 deadline;
  gint64 start;
  GThread *thread;

  if (peer == NULL)
    return;
  connection = connect_peer (peer, QMP_CONNECTION_FLAGS_NONE);
  qmp_test_peer_kill_signal (peer, SIGSTOP);

  /* _sync, with a timeout of its own: the first checked call starts the
   * query, with no timeout (the connection has none). */
  timed.connection = connection;
  timed.timeout_msec = 300;
  g_mutex_init (&timed.lock);
  g_cond_init (&timed.cond);
  thread = g_thread_new ("timed-call", timed_call_thread, &timed);
  deadline = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;
  g_mutex_lock (&timed.lock);
  while (!timed.done && g_cond_wait_until (&timed.cond, &timed.lock, deadline))
    ;
  g_mutex_unlock (&timed.lock);
  if (!timed.done)
    g_error ("A checked call with a timeout of 300 ms did not return within 10 s");
  g_thread_join (thread);
  assert_schema_timed_out (timed.error, "query-status", 300, timed.elapsed);
  g_clear_error (&timed.error);
  g_mutex_clear (&timed.lock);
  g_cond_clear (&timed.cond);

  /* _async, with a timeout of its own */
  start = g_get_monotonic_time ();
  qmp_connection_execute_full_async (connection, "query-status", NULL, QMP_EXECUTE_FLAGS_VALIDATE,
                                     200, NULL, qmp_test_store_result, &result);
  result = qmp_test_wait_result (&result);
  ret = qmp_connection_execute_full_finish (connection, result, &error);
  g_assert_null (ret);
  assert_schema_timed_out (error, "query-status", 200, g_get_monotonic_time () - start);
  g_clear_error (&error);
  g_clear_object (&result);

  /* The connection's timeout, with the property's check */
  qmp_connection_set_timeout (connection, 200);
  qmp_connection_set_validate_arguments (connection, TRUE);
  start = g_get_monotonic_time ();
  qmp_connection_execute_until_event_async (connection, "stop", NULL, "STOP", NULL, NULL,
                                            qmp_test_store_result, &result);
  result = qmp_test_wait_result (&result);
  event = qmp_connection_execute_until_event_finish (connection, result, NULL, &error);
  g_assert_null (event);
  assert_schema_timed_out (error, "stop", 200, g_get_monotonic_time () - start);
  g_clear_error (&error);
  g_clear_object (&result);
  start = g_get_monotonic_time ();
  ret = qmp_connection_execute_sync (connection, "cont", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_null (ret);
  assert_schema_timed_out (error, "cont", 200, g_get_monotonic_time () - start);
  g_clear_error (&error);
  qmp_connection_set_timeout (connection, 0);
  qmp_connection_set_validate_arguments (connection, FALSE);

  /* The query went on: once QEMU runs again, the schema is there, and
   * nothing was sent for the calls that timed out (QEMU still runs). */
  qmp_test_peer_kill_signal (peer, SIGCONT);
  schema = qmp_connection_get_schema_sync (connection, NULL, &error);
  g_assert_no_error (error);
  ret = qmp_connection_execute_sync (connection, "query-status", NULL, QMP_EXECUTE_FLAGS_VALIDATE,
                                     NULL, &error);
  g_assert_no_error (error);
  g_assert_true (json_object_get_boolean_member (json_node_get_object (ret), "running"));
}

/* -------------------------------------- real qemu-storage-daemon, qemu-ga */

static void
test_qsd (void)
{
  g_autoptr(QmpTestPeer) peer = qmp_test_peer_start (QMP_TEST_PEER_QSD, NULL);
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(QmpSchema) schema = NULL;
  g_autoptr(JsonObject) bad = object_from_json ("{\"driver\": \"null-co\", \"node-name\": \"q0\", \"size\": \"big\"}");
  g_autoptr(GError) error = NULL;

  if (peer == NULL)
    return;
  connection = connect_peer (peer, QMP_CONNECTION_FLAGS_NONE);
  schema = qmp_connection_get_schema_sync (connection, NULL, &error);
  g_assert_no_error (error);

  g_assert_true (qmp_schema_has_command (schema, "blockdev-add"));
  g_assert_true (qmp_schema_has_command (schema, "nbd-server-start"));
  g_assert_true (qmp_schema_has_command (schema, "block-export-add"));
  g_assert_false (qmp_schema_has_command (schema, "device_add"));    /* no devices in a storage daemon */
  g_assert_false (qmp_schema_has_path (schema, "device_add/arg-type/driver"));
  g_assert_true (qmp_schema_has_event (schema, "JOB_STATUS_CHANGE"));
  g_assert_true (qmp_schema_has_path (schema, "blockdev-add/arg-type/+file/aio"));
  g_assert_true (qmp_schema_has_path (schema, "block-export-add/arg-type/+nbd/name"));
  g_assert_cmpuint (walk_schema (schema), >, 200);

  g_assert_false (qmp_schema_validate_arguments (schema, "blockdev-add", bad, &error));
  g_assert_error (error, QMP_ERROR, QMP_ERROR_INVALID_ARGUMENTS);
  g_assert_cmpstr (error->message, ==, "blockdev-add: size: expected an integer, got a string");
  g_clear_error (&error);
  g_assert_false (qmp_schema_validate_arguments (schema, "device_add", NULL, &error));
  g_assert_error (error, QMP_ERROR, QMP_ERROR_COMMAND_NOT_FOUND);
}

static void
test_qga (void)
{
  g_autoptr(QmpTestPeer) peer = qmp_test_peer_start (QMP_TEST_PEER_QGA, NULL);
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(QmpSchema) schema = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) ret = NULL;

  if (peer == NULL)
    return;
  connection = connect_peer (peer, QMP_CONNECTION_FLAGS_GUEST_AGENT);

  schema = qmp_connection_get_schema_sync (connection, NULL, &error);
  g_assert_null (schema);
  g_assert_error (error, QMP_ERROR, QMP_ERROR_COMMAND_NOT_FOUND);
  g_assert_true (g_str_has_prefix (error->message, "The server has no schema"));
  g_assert_nonnull (strstr (error->message, "query-qmp-schema"));
  g_clear_error (&error);

  /* Kept: the same answer again, and a checked call cannot be checked. */
  schema = qmp_connection_get_schema_sync (connection, NULL, &error);
  g_assert_error (error, QMP_ERROR, QMP_ERROR_COMMAND_NOT_FOUND);
  g_clear_error (&error);
  ret = qmp_connection_execute_sync (connection, "guest-ping", NULL, QMP_EXECUTE_FLAGS_VALIDATE, NULL, &error);
  g_assert_null (ret);
  g_assert_error (error, QMP_ERROR, QMP_ERROR_COMMAND_NOT_FOUND);
  g_clear_error (&error);

  /* The connection goes on. */
  ret = qmp_connection_execute_sync (connection, "guest-ping", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
}

/* ------------------------------------------------------ scripted peers */

static const char mock_schema[] =
  "[{\"name\": \"str\", \"meta-type\": \"builtin\", \"json-type\": \"string\"},"
  " {\"name\": \"int\", \"meta-type\": \"builtin\", \"json-type\": \"int\"},"
  " {\"name\": \"0\", \"meta-type\": \"object\", \"members\": []},"
  " {\"name\": \"query-status\", \"meta-type\": \"command\", \"arg-type\": \"0\", \"ret-type\": \"0\"},"
  " {\"name\": \"old-cmd\", \"meta-type\": \"command\", \"arg-type\": \"1\", \"ret-type\": \"0\","
  "  \"features\": [\"deprecated\"]},"
  " {\"name\": \"1\", \"meta-type\": \"object\", \"members\": ["
  "   {\"name\": \"a\", \"type\": \"str\"},"
  "   {\"name\": \"b\", \"type\": \"int\", \"default\": null, \"features\": [\"deprecated\"]},"
  "   {\"name\": \"mode\", \"type\": \"2\", \"default\": null}]},"
  " {\"name\": \"2\", \"meta-type\": \"enum\", \"values\": [\"new\", \"legacy\"],"
  "  \"members\": [{\"name\": \"new\"}, {\"name\": \"legacy\", \"features\": [\"deprecated\"]}]},"
  " {\"name\": \"EV\", \"meta-type\": \"event\", \"arg-type\": \"0\"}]";

static gpointer
get_schema_thread (gpointer data)
{
  g_autoptr(GError) error = NULL;
  QmpSchema *schema = qmp_connection_get_schema_sync (data, NULL, &error);

  g_assert_no_error (error);
  return schema;
}

/* A test server whose commands the test answers, and a client of it */
typedef struct
{
  QmpTestServer *server;
  QmpTestHeld *held;
  QmpConnection *connection;
} Served;

static void
served_init (Served *served)
{
  g_autoptr(GError) error = NULL;

  served->server = qmp_test_server_new ();
  served->held = qmp_test_held_new (served->server);
  served->connection = qmp_test_server_new_connection_sync (served->server, QMP_CONNECTION_FLAGS_NONE,
                                                            NULL, &error);
  g_assert_no_error (error);
}

static void
served_clear (Served *served)
{
  g_clear_object (&served->connection);
  g_clear_pointer (&served->held, qmp_test_held_free);
  g_clear_object (&served->server);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Served, served_clear)

/* Concurrent first calls, _sync and _async, share one query. */
static void
test_mock_once (void)
{
  g_auto(Served) served = { NULL, };
  QmpConnection *connection;
  g_autoptr(GAsyncResult) first = NULL;
  g_autoptr(GAsyncResult) second = NULL;
  g_autoptr(GAsyncResult) third = NULL;
  g_autoptr(QmpSchema) a = NULL;
  g_autoptr(QmpSchema) b = NULL;
  g_autoptr(QmpSchema) c = NULL;
  g_autoptr(QmpSchema) d = NULL;
  g_autoptr(QmpSchema) e = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) status = NULL;
  g_autoptr(JsonNode) ret = NULL;
  GThread *threads[2];

  served_init (&served);
  connection = served.connection;

  qmp_connection_get_schema_async (connection, NULL, qmp_test_store_result, &first);
  qmp_connection_get_schema_async (connection, NULL, qmp_test_store_result, &second);
  qmp_connection_get_schema_async (connection, cancellable, qmp_test_store_result, &third);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("get-schema", get_schema_thread, connection);

  /* A waiter that gives up does not stop the query. */
  g_cancellable_cancel (cancellable);
  third = qmp_test_wait_result (&third);
  g_assert_null (qmp_connection_get_schema_finish (connection, third, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  qmp_test_held_reply (served.held, "query-qmp-schema", mock_schema);
  first = qmp_test_wait_result (&first);
  second = qmp_test_wait_result (&second);
  a = qmp_connection_get_schema_finish (connection, first, &error);
  g_assert_no_error (error);
  b = qmp_connection_get_schema_finish (connection, second, &error);
  g_assert_no_error (error);
  c = g_thread_join (threads[0]);
  d = g_thread_join (threads[1]);
  e = qmp_connection_get_schema_sync (connection, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (a == b && b == c && c == d && d == e);
  g_assert_true (qmp_schema_has_command (a, "old-cmd"));
  g_assert_true (qmp_schema_has_path (a, "old-cmd/arg-type/mode/^legacy/$deprecated"));
  g_assert_false (qmp_schema_has_path (a, "old-cmd/arg-type/mode/^new/$deprecated"));
  g_assert_true (qmp_schema_has_path (a, "old-cmd/$deprecated"));

  /* The next line is the next command: no second query. */
  qmp_connection_execute_async (connection, "query-status", NULL, QMP_EXECUTE_FLAGS_VALIDATE,
                                NULL, qmp_test_store_result, &status);
  qmp_test_held_reply (served.held, "query-status", NULL);
  status = qmp_test_wait_result (&status);
  ret = qmp_connection_execute_finish (connection, status, &error);
  g_assert_no_error (error);
}

/* A checked call that fails sends nothing; checked calls that waited for
 * the schema keep their order; deprecated things are logged once. */
static void
test_mock_validate (void)
{
  g_auto(Served) served = { NULL, };
  QmpConnection *connection;
  g_autoptr(JsonObject) bad = object_from_json ("{\"a\": 5}");
  g_autoptr(JsonObject) old = object_from_json ("{\"a\": \"x\", \"b\": 1, \"mode\": \"legacy\"}");
  g_autoptr(JsonObject) unknown = object_from_json ("{\"x\": 1}");
  g_autoptr(GAsyncResult) r1 = NULL;
  g_autoptr(GAsyncResult) r2 = NULL;
  g_autoptr(GAsyncResult) r3 = NULL;
  g_autoptr(GAsyncResult) r4 = NULL;
  g_autoptr(GAsyncResult) r5 = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) ret = NULL;
  QmpEvent *event;

  served_init (&served);
  connection = served.connection;

  /* Three checked calls before the schema is there: the bad one fails,
   * the two others are written in the order they were made.  (The
   * property checks execute_until_event, which has no flags.) */
  qmp_connection_set_validate_arguments (connection, TRUE);
  qmp_connection_execute_async (connection, "query-status", NULL, QMP_EXECUTE_FLAGS_NONE,
                                NULL, qmp_test_store_result, &r1);
  qmp_connection_execute_until_event_async (connection, "old-cmd", old, "EV", NULL,
                                            NULL, qmp_test_store_result, &r3);
  qmp_connection_execute_async (connection, "query-status", unknown, QMP_EXECUTE_FLAGS_VALIDATE,
                                NULL, qmp_test_store_result, &r2);

  g_test_expect_message ("Qmp", G_LOG_LEVEL_WARNING, "The command old-cmd is deprecated");
  g_test_expect_message ("Qmp", G_LOG_LEVEL_WARNING, "old-cmd: the member b is deprecated");
  g_test_expect_message ("Qmp", G_LOG_LEVEL_WARNING, "old-cmd: mode: the value “legacy” is deprecated");
  qmp_test_held_reply (served.held, "query-qmp-schema", mock_schema);
  /* The calls wait in this context: the failed one finishes last. */
  r2 = qmp_test_wait_result (&r2);
  g_assert_null (qmp_connection_execute_finish (connection, r2, &error));
  g_assert_error (error, QMP_ERROR, QMP_ERROR_INVALID_ARGUMENTS);
  g_assert_cmpstr (error->message, ==, "query-status: unknown member \"x\"");
  g_clear_error (&error);
  g_test_assert_expected_messages ();
  qmp_test_held_reply (served.held, "query-status", NULL);
  qmp_test_held_reply (served.held, "old-cmd", NULL);
  qmp_test_server_emit_event (served.server, "EV", NULL, NULL);
  r1 = qmp_test_wait_result (&r1);
  ret = qmp_connection_execute_finish (connection, r1, &error);
  g_assert_no_error (error);
  g_clear_pointer (&ret, json_node_unref);
  r3 = qmp_test_wait_result (&r3);
  event = qmp_connection_execute_until_event_finish (connection, r3, NULL, &error);
  g_assert_no_error (error);
  qmp_event_unref (event);

  /* Logged once per connection: warnings are fatal here. */
  event = qmp_connection_execute_until_event_sync (connection, "old-cmd", bad, "EV", NULL, NULL, NULL, &error);
  g_assert_null (event);
  g_assert_error (error, QMP_ERROR, QMP_ERROR_INVALID_ARGUMENTS);
  g_assert_cmpstr (error->message, ==, "old-cmd: a: expected a string, got an integer");
  g_clear_error (&error);
  ret = qmp_connection_execute_sync (connection, "nope", NULL, QMP_EXECUTE_FLAGS_NONE, NULL, &error);
  g_assert_error (error, QMP_ERROR, QMP_ERROR_COMMAND_NOT_FOUND);
  g_clear_error (&error);

  /* The calls that give JSON text are checked too. */
  qmp_connection_set_validate_arguments (connection, FALSE);
  {
    g_autofree char *text = qmp_connection_execute_json_sync (connection, "query-status", unknown,
                                                              QMP_EXECUTE_FLAGS_VALIDATE, NULL, &error);

    g_assert_null (text);
    g_assert_error (error, QMP_ERROR, QMP_ERROR_INVALID_ARGUMENTS);
    g_clear_error (&error);
  }
  qmp_connection_execute_json_async (connection, "query-status", unknown, QMP_EXECUTE_FLAGS_VALIDATE,
                                     NULL, qmp_test_store_result, &r5);
  r5 = qmp_test_wait_result (&r5);
  g_assert_null (qmp_connection_execute_json_finish (connection, r5, &error));
  g_assert_error (error, QMP_ERROR, QMP_ERROR_INVALID_ARGUMENTS);
  g_clear_error (&error);

  /* Nothing was sent for them: the next line is this one. */
  qmp_connection_execute_async (connection, "nope", NULL, QMP_EXECUTE_FLAGS_NONE,
                                NULL, qmp_test_store_result, &r4);
  qmp_test_held_reply (served.held, "nope", NULL);
  r4 = qmp_test_wait_result (&r4);
  ret = qmp_connection_execute_finish (connection, r4, &error);
  g_assert_no_error (error);
}

/* A reply that is no schema at all fails the call, and is kept. */
static void
test_mock_not_a_schema (void)
{
  g_auto(Served) served = { NULL, };
  QmpConnection *connection;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(QmpSchema) schema = NULL;

  served_init (&served);
  connection = served.connection;

  qmp_connection_get_schema_async (connection, NULL, qmp_test_store_result, &result);
  qmp_test_held_reply (served.held, "query-qmp-schema", "{\"name\": \"str\"}");
  result = qmp_test_wait_result (&result);
  schema = qmp_connection_get_schema_finish (connection, result, &error);
  g_assert_null (schema);
  g_assert_error (error, QMP_ERROR, QMP_ERROR_PROTOCOL);
  g_clear_error (&error);

  schema = qmp_connection_get_schema_sync (connection, NULL, &error);
  g_assert_error (error, QMP_ERROR, QMP_ERROR_PROTOCOL);
  g_assert_false (qmp_connection_is_closed (connection));
}

/* The typed commands choose the form of blockdev-add by the schema once
 * the connection has it, by the version before: a server that says 7.2
 * but has only x-blockdev-add gets x-blockdev-add. */
static void
test_mock_typed_commands (void)
{
  g_auto(Served) served = { NULL, };
  QmpConnection *connection;
  g_autoptr(GAsyncResult) r1 = NULL;
  g_autoptr(GAsyncResult) r2 = NULL;
  g_autoptr(GAsyncResult) r3 = NULL;
  g_autoptr(QmpSchema) schema = NULL;
  g_autoptr(QmpTestServerCommand) command = NULL;
  g_autoptr(GError) error = NULL;
  static const char old_schema[] =
    "[{\"name\": \"str\", \"meta-type\": \"builtin\", \"json-type\": \"string\"},"
    " {\"name\": \"any\", \"meta-type\": \"builtin\", \"json-type\": \"value\"},"
    " {\"name\": \"0\", \"meta-type\": \"object\", \"members\": []},"
    " {\"name\": \"1\", \"meta-type\": \"object\", \"members\": [{\"name\": \"options\", \"type\": \"any\"}]},"
    " {\"name\": \"x-blockdev-add\", \"meta-type\": \"command\", \"arg-type\": \"1\", \"ret-type\": \"0\"}]";

  served_init (&served);
  connection = served.connection;

  /* No schema yet: the version decides. */
  qmp_connection_blockdev_add_async (connection, "/dev/null", "n0", NULL, qmp_test_store_result, &r1);
  qmp_test_held_reply (served.held, "blockdev-add", NULL);
  r1 = qmp_test_wait_result (&r1);
  g_assert_true (qmp_connection_blockdev_add_finish (connection, r1, &error));
  g_assert_no_error (error);

  qmp_connection_get_schema_async (connection, NULL, qmp_test_store_result, &r2);
  qmp_test_held_reply (served.held, "query-qmp-schema", old_schema);
  r2 = qmp_test_wait_result (&r2);
  schema = qmp_connection_get_schema_finish (connection, r2, &error);
  g_assert_no_error (error);

  qmp_connection_blockdev_add_async (connection, "/dev/null", "n1", NULL, qmp_test_store_result, &r3);
  command = qmp_test_held_next (served.held, "x-blockdev-add");
  g_assert_true (json_object_has_member (qmp_test_server_command_get_arguments (command), "options"));
  qmp_test_server_command_reply (command, NULL);
  r3 = qmp_test_wait_result (&r3);
  g_assert_true (qmp_connection_blockdev_add_finish (connection, r3, &error));
  g_assert_no_error (error);
}

/* One schema used from several threads at once gives each the same
 * answers as one thread alone. */
typedef struct
{
  QmpSchema *schema;
  guint rounds;
} ThreadsData;

static gpointer
schema_thread (gpointer user_data)
{
  ThreadsData *data = user_data;

  for (guint round = 0; round < data->rounds; round++)
    for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
      {
        g_autoptr(JsonObject) arguments = object_from_json (cases[i].arguments);
        g_autoptr(GError) error = NULL;
        g_autoptr(QmpSchemaType) aio = NULL;

        if (qmp_schema_validate_arguments (data->schema, cases[i].command, arguments, &error))
          g_assert_null (cases[i].error);
        else
          g_assert_true (g_pattern_match_simple (cases[i].error, error->message));
        g_assert_true (qmp_schema_has_path (data->schema, "blockdev-add/arg-type/+file/aio/^threads"));
        aio = qmp_schema_get_path_type (data->schema, "blockdev-add/arg-type/+file/aio");
        g_assert_true (g_strv_contains (qmp_schema_type_get_enum_values (aio), "native"));
      }

  return NULL;
}

static void
test_qemu_threads (void)
{
  g_autoptr(QmpTestPeer) peer = qmp_test_peer_start (QMP_TEST_PEER_QEMU_NONE, NULL);
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(QmpSchema) schema = NULL;
  g_autoptr(GError) error = NULL;
  ThreadsData data;
  GThread *threads[4];

  if (peer == NULL)
    return;
  connection = connect_peer (peer, QMP_CONNECTION_FLAGS_NONE);
  schema = qmp_connection_get_schema_sync (connection, NULL, &error);
  g_assert_no_error (error);

  data.schema = schema;
  data.rounds = qmp_test_scale (50);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("schema", schema_thread, &data);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    g_thread_join (threads[i]);
}

/* The connection closes while the query runs: the callers get the
 * error, which is not kept as the schema's answer. */
static void
test_mock_closed (void)
{
  g_auto(Served) served = { NULL, };
  QmpConnection *connection;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GAsyncResult) checked = NULL;
  g_autoptr(QmpTestServerCommand) command = NULL;
  g_autoptr(QmpSchema) schema = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;

  served_init (&served);
  connection = served.connection;

  qmp_connection_get_schema_async (connection, NULL, qmp_test_store_result, &result);
  qmp_connection_execute_async (connection, "query-status", NULL, QMP_EXECUTE_FLAGS_VALIDATE,
                                NULL, qmp_test_store_result, &checked);
  command = qmp_test_held_next (served.held, "query-qmp-schema");
  qmp_test_server_close_clients (served.server);

  result = qmp_test_wait_result (&result);
  schema = qmp_connection_get_schema_finish (connection, result, &error);
  g_assert_null (schema);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
  g_clear_error (&error);

  checked = qmp_test_wait_result (&checked);
  ret = qmp_connection_execute_finish (connection, checked, &error);
  g_assert_null (ret);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
}

/* The caller's own "cancelled" handler, run in a thread of the caller's
 * that cancels, waits for what the library delivers meanwhile: another
 * waiter's schema, or the return of a _sync call that shares the
 * cancellable.  The library must not wait for such a handler to return
 * (in GLib 2.74, g_cancellable_disconnect() does). */
typedef struct
{
  GMutex lock;
  GCond cond;
  gboolean entered;           /* the handler waits */
  gboolean done;              /* what it waits for came */
  gboolean saw_done;          /* … before it gave up */
} HandlerWaits;

static void
on_cancelled_waits (GCancellable *cancellable,
                    HandlerWaits *waits)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;

  g_mutex_lock (&waits->lock);
  waits->entered = TRUE;
  g_cond_broadcast (&waits->cond);
  while (!waits->done && g_cond_wait_until (&waits->cond, &waits->lock, deadline))
    ;
  waits->saw_done = waits->done;
  g_mutex_unlock (&waits->lock);
}

static gpointer
cancel_thread (gpointer data)
{
  g_cancellable_cancel (data);

  return NULL;
}

/* Cancels @cancellable in a new thread, and returns once its handler
 * waits. */
static GThread *
handler_waits_cancel (HandlerWaits *waits,
                      GCancellable *cancellable)
{
  GThread *thread = g_thread_new ("cancel", cancel_thread, cancellable);

  g_mutex_lock (&waits->lock);
  while (!waits->entered)
    g_cond_wait (&waits->cond, &waits->lock);
  g_mutex_unlock (&waits->lock);

  return thread;
}

static void
handler_waits_set_done (HandlerWaits *waits)
{
  g_mutex_lock (&waits->lock);
  waits->done = TRUE;
  g_cond_broadcast (&waits->cond);
  g_mutex_unlock (&waits->lock);
}

/* Two waiters, the first with the cancellable: the second one's schema
 * comes while the handler waits for it. */
static void
test_mock_handler_waits_async (void)
{
  g_auto(Served) served = { NULL, };
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) first = NULL;
  g_autoptr(GAsyncResult) second = NULL;
  g_autoptr(QmpSchema) schema = NULL;
  g_autoptr(GError) error = NULL;
  HandlerWaits waits = { 0, };
  GThread *thread;

  served_init (&served);
  g_mutex_init (&waits.lock);
  g_cond_init (&waits.cond);
  g_signal_connect (cancellable, "cancelled", G_CALLBACK (on_cancelled_waits), &waits);

  qmp_connection_get_schema_async (served.connection, cancellable, qmp_test_store_result, &first);
  qmp_connection_get_schema_async (served.connection, NULL, qmp_test_store_result, &second);
  thread = handler_waits_cancel (&waits, cancellable);
  qmp_test_held_reply (served.held, "query-qmp-schema", mock_schema);

  second = qmp_test_wait_result (&second);
  schema = qmp_connection_get_schema_finish (served.connection, second, &error);
  g_assert_no_error (error);
  handler_waits_set_done (&waits);
  g_thread_join (thread);
  g_assert_true (waits.saw_done);

  first = qmp_test_wait_result (&first);
  g_assert_null (qmp_connection_get_schema_finish (served.connection, first, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  g_signal_handlers_disconnect_by_data (cancellable, &waits);
  g_mutex_clear (&waits.lock);
  g_cond_clear (&waits.cond);
}

/* A _sync caller whose schema came, while the handler waits for its
 * return (reached as well by the first checked _sync call). */
typedef struct
{
  QmpConnection *connection;
  GCancellable *cancellable;
  HandlerWaits *waits;
} SyncWaiter;

static gpointer
get_schema_cancellable_thread (gpointer data)
{
  SyncWaiter *waiter = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(QmpSchema) schema = NULL;

  schema = qmp_connection_get_schema_sync (waiter->connection, waiter->cancellable, &error);
  /* The schema, unless this thread woke before it came */
  g_assert_true (schema != NULL || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED));
  handler_waits_set_done (waiter->waits);

  return NULL;
}

static void
test_mock_handler_waits_sync (void)
{
  g_auto(Served) served = { NULL, };
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(QmpTestServerCommand) command = NULL;
  g_autoptr(JsonNode) reply = NULL;
  HandlerWaits waits = { 0, };
  SyncWaiter waiter;
  GThread *caller;
  GThread *thread;

  served_init (&served);
  g_mutex_init (&waits.lock);
  g_cond_init (&waits.cond);
  g_signal_connect (cancellable, "cancelled", G_CALLBACK (on_cancelled_waits), &waits);

  waiter = (SyncWaiter) { served.connection, cancellable, &waits };
  caller = g_thread_new ("get-schema", get_schema_cancellable_thread, &waiter);
  /* The caller's handler is connected before the query starts. */
  command = qmp_test_held_next (served.held, "query-qmp-schema");
  thread = handler_waits_cancel (&waits, cancellable);
  reply = json_from_string (mock_schema, NULL);
  qmp_test_server_command_reply (command, reply);

  g_thread_join (caller);
  g_thread_join (thread);
  g_assert_true (waits.saw_done);

  g_signal_handlers_disconnect_by_data (cancellable, &waits);
  g_mutex_clear (&waits.lock);
  g_cond_clear (&waits.cond);
}

/* A wait cancelled, then the last reference dropped: the query that no
 * one can wait for any more keeps neither the connection nor its socket,
 * however long the peer stays silent. */
static void
test_mock_cancelled_freed (void)
{
  g_auto(Served) served = { NULL, };
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(QmpTestServerCommand) command = NULL;
  g_autoptr(GError) error = NULL;
  GObject *alive = NULL;
  GWeakRef weak;
  gint64 deadline;

  served_init (&served);
  g_weak_ref_init (&weak, served.connection);
  qmp_connection_get_schema_async (served.connection, cancellable, qmp_test_store_result, &result);
  command = qmp_test_held_next (served.held, "query-qmp-schema");   /* never answered */
  g_cancellable_cancel (cancellable);
  result = qmp_test_wait_result (&result);
  g_assert_null (qmp_connection_get_schema_finish (served.connection, result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_object (&result);
  g_clear_object (&served.connection);

  /* The query's thread lets go of it right after its query is written. */
  deadline = g_get_monotonic_time () + 5 * G_TIME_SPAN_SECOND;
  while ((alive = g_weak_ref_get (&weak)) != NULL && g_get_monotonic_time () < deadline)
    {
      g_object_unref (alive);
      g_usleep (1000);
    }
  g_assert_null (alive);
  while (qmp_test_server_get_n_clients (served.server) > 0 && g_get_monotonic_time () < deadline)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  g_assert_cmpuint (qmp_test_server_get_n_clients (served.server), ==, 0);
  g_weak_ref_clear (&weak);
}

/* ------------------------------------------------------ hostile schemas */

/* A schema with every construct, and cycles that a hostile peer could
 * send: an alternate of itself, an array of itself, a union whose
 * variants are itself. */
static const char hostile_template[] =
  "[{\"name\": \"str\", \"meta-type\": \"builtin\", \"json-type\": \"string\"},"
  " {\"name\": \"int\", \"meta-type\": \"builtin\", \"json-type\": \"int\"},"
  " {\"name\": \"c\", \"meta-type\": \"command\", \"arg-type\": \"1\", \"ret-type\": \"4\","
  "  \"allow-oob\": true, \"features\": [\"deprecated\"]},"
  " {\"name\": \"E\", \"meta-type\": \"event\", \"arg-type\": \"1\"},"
  " {\"name\": \"1\", \"meta-type\": \"object\", \"tag\": \"t\","
  "  \"members\": [{\"name\": \"t\", \"type\": \"3\"}, {\"name\": \"x\", \"type\": \"2\", \"default\": null,"
  "                \"features\": [\"unstable\"]}],"
  "  \"variants\": [{\"case\": \"a\", \"type\": \"1\"}, {\"case\": \"b\", \"type\": \"1\"}]},"
  " {\"name\": \"2\", \"meta-type\": \"alternate\", \"members\": [{\"type\": \"2\"}, {\"type\": \"4\"}, {\"type\": \"str\"}]},"
  " {\"name\": \"3\", \"meta-type\": \"enum\", \"values\": [\"a\", \"b\"],"
  "  \"members\": [{\"name\": \"a\"}, {\"name\": \"b\", \"features\": [\"deprecated\"]}]},"
  " {\"name\": \"4\", \"meta-type\": \"array\", \"element-type\": \"4\"},"
  " {\"name\": \"5\", \"meta-type\": \"x-future\", \"whatever\": 1}]";

static const char * const wrong_values[] = {
  "1", "-1", "1.5", "\"x\"", "\"\"", "\"1\"", "\"c\"", "true", "null", "[]", "[1]", "{}",
  "{\"name\": 1}", "18446744073709551615",
};

/* A copy of @node with its @target-th node (in pre-order) replaced by
 * @replacement, or with that node removed from its parent when
 * @replacement is NULL. */
static JsonNode *
copy_replacing (JsonNode *node,
                guint    *counter,
                guint     target,
                JsonNode *replacement,
                gboolean *removed)
{
  if ((*counter)++ == target)
    {
      if (replacement == NULL)
        {
          *removed = TRUE;
          return NULL;
        }
      return json_node_copy (replacement);
    }

  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObject *copy = json_object_new ();
      JsonObjectIter iter;
      const char *name;
      JsonNode *member;

      json_object_iter_init (&iter, json_node_get_object (node));
      while (json_object_iter_next (&iter, &name, &member))
        {
          JsonNode *child = copy_replacing (member, counter, target, replacement, removed);

          if (child != NULL)
            json_object_set_member (copy, name, child);
        }
      node = json_node_init_object (json_node_alloc (), copy);
      json_object_unref (copy);
      return node;
    }

  if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);
      JsonArray *copy = json_array_new ();

      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          JsonNode *child = copy_replacing (json_array_get_element (array, i), counter, target,
                                            replacement, removed);

          if (child != NULL)
            json_array_add_element (copy, child);
        }
      node = json_node_init_array (json_node_alloc (), copy);
      json_array_unref (copy);
      return node;
    }

  return json_node_copy (node);
}

static void
exercise (QmpSchema *schema)
{
  static const char * const paths[] = {
    "c", "c/arg-type", "c/ret-type", "c/arg-type/x", "c/arg-type/x/y", "c/arg-type/+a/+b/x",
    "c/arg-type/t/^b/$deprecated", "c/arg-type/x/!string", "c/ret-type/x/y/z", "c/$deprecated",
    "E/arg-type/*x", "E/ret-type", "5", "str", "1/x", "c/arg-type/ x",
  };
  static const char * const arguments[] = {
    "{}", "{\"t\": \"a\"}", "{\"t\": \"b\", \"x\": \"s\"}", "{\"t\": \"a\", \"x\": [[[[]]]]}",
    "{\"t\": 1}", "{\"t\": \"z\", \"y\": 1}", "{\"t\": \"a\", \"x\": {\"a\": 1}}", "{\"t\": \"a\", \"x\": 1.5}",
    "{\"y\": null}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
    {
      QmpSchemaType *type = qmp_schema_get_path_type (schema, paths[i]);

      /* Whatever the answers: they do not crash */
      g_clear_pointer (&type, qmp_schema_type_unref);
      qmp_schema_has_path (schema, paths[i]);
    }

  for (guint i = 0; i < G_N_ELEMENTS (arguments); i++)
    {
      g_autoptr(JsonObject) object = object_from_json (arguments[i]);
      g_autoptr(GError) error = NULL;

      if (!qmp_schema_validate_arguments (schema, "c", object, &error))
        g_assert_true (error->domain == QMP_ERROR);
    }

  walk_schema (schema);
}

static void
test_hostile (void)
{
  g_autoptr(JsonNode) template = json_from_string (hostile_template, NULL);
  g_autoptr(QmpSchema) valid = NULL;
  g_autoptr(GError) error = NULL;
  guint n_nodes = 0, n_built = 0, n_refused = 0;
  gboolean removed = FALSE;

  /* Debug logging formats every line: keep it on, as for real peers. */
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);

  valid = qmp_schema_new (template, &error);
  g_assert_no_error (error);
  exercise (valid);
  g_assert_true (qmp_schema_get_command_allow_oob (valid, "c"));
  g_assert_true (qmp_schema_has_path (valid, "c/arg-type/+a/+b/+a/x"));
  g_assert_true (qmp_schema_has_path (valid, "c/arg-type/t/^b/$deprecated"));

  /* Count the nodes. */
  json_node_unref (copy_replacing (template, &n_nodes, G_MAXUINT, NULL, &removed));

  for (guint target = 0; target < n_nodes; target++)
    for (guint v = 0; v <= G_N_ELEMENTS (wrong_values); v++)
      {
        g_autoptr(JsonNode) replacement = v < G_N_ELEMENTS (wrong_values)
                                          ? json_from_string (wrong_values[v], NULL) : NULL;
        g_autoptr(JsonNode) mutated = NULL;
        g_autoptr(QmpSchema) schema = NULL;
        g_autoptr(QmpSchema) from_tree = NULL;
        g_autoptr(GError) tree_error = NULL;
        g_autofree char *text = NULL;
        guint counter = 0;

        removed = FALSE;
        mutated = copy_replacing (template, &counter, target, replacement, &removed);
        if (mutated == NULL)
          continue;
        text = json_to_string (mutated, FALSE);

        /* The text parser and the tree builder agree on each. */
        schema = qmp_schema_new_from_data (text, -1, &error);
        from_tree = qmp_schema_new (mutated, &tree_error);
        g_assert_true ((schema == NULL) == (from_tree == NULL));
        if (schema != NULL)
          {
            n_built++;
            exercise (schema);
            exercise (from_tree);
          }
        else
          {
            n_refused++;
            g_assert_error (error, QMP_ERROR, QMP_ERROR_PROTOCOL);
            g_assert_error (tree_error, QMP_ERROR, QMP_ERROR_PROTOCOL);
            g_clear_error (&error);
            g_clear_error (&tree_error);
          }
      }

  g_test_message ("%u nodes: %u schemas built, %u refused", n_nodes, n_built, n_refused);
  g_assert_cmpuint (n_built, >, 0);
  g_assert_cmpuint (n_refused, >, 0);

  /* Not JSON at all. */
  g_assert_null (qmp_schema_new_from_data ("[{", -1, &error));
  g_assert_error (error, QMP_ERROR, QMP_ERROR_PROTOCOL);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/schema/qemu/lookup", test_qemu_lookup);
  g_test_add_func ("/schema/qemu/paths", test_qemu_paths);
  g_test_add_func ("/schema/qemu/agreement", test_qemu_agreement);
  g_test_add_func ("/schema/qemu/validate", test_qemu_validate);
  g_test_add_func ("/schema/qemu/accepts", test_qemu_accepts);
  g_test_add_func ("/schema/qemu/threads", test_qemu_threads);
  g_test_add_func ("/schema/qemu/validate-timeout", test_qemu_validate_timeout);
  g_test_add_func ("/schema/qsd", test_qsd);
  g_test_add_func ("/schema/qga", test_qga);
  g_test_add_func ("/schema/mock/once", test_mock_once);
  g_test_add_func ("/schema/mock/validate", test_mock_validate);
  g_test_add_func ("/schema/mock/not-a-schema", test_mock_not_a_schema);
  g_test_add_func ("/schema/mock/typed-commands", test_mock_typed_commands);
  g_test_add_func ("/schema/mock/closed", test_mock_closed);
  g_test_add_func ("/schema/mock/handler-waits/async", test_mock_handler_waits_async);
  g_test_add_func ("/schema/mock/handler-waits/sync", test_mock_handler_waits_sync);
  g_test_add_func ("/schema/mock/cancelled-freed", test_mock_cancelled_freed);
  g_test_add_func ("/schema/hostile", test_hostile);

  return g_test_run ();
}
