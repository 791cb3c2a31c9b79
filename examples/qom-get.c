/* qom-get.c: read a QOM property of a QEMU, with the command written as a
 * JSON template
 *
 *   qemu-system-x86_64 -M none -display none -qmp unix:/tmp/qmp.sock,server=on,wait=off &
 *   ./qom-get unix:/tmp/qmp.sock /machine type
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <qmp-glib.h>

int
main (int    argc,
      char **argv)
{
  g_autoptr(QmpConnection) connection = NULL;
  g_autoptr(JsonNode) value = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  if (argc != 4)
    {
      g_printerr ("Usage: %s unix:PATH|tcp:HOST:PORT QOM-PATH PROPERTY\n", argv[0]);
      return 2;
    }

  connection = qmp_connection_new_for_address_sync (argv[1], QMP_CONNECTION_FLAGS_NONE,
                                                    NULL, &error);
  if (connection == NULL)
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }

  /* Each %s becomes a JSON string, escaped as needed: whatever the user
   * typed, the command is the one written here. */
  value = qmp_connection_execute_printf_sync (connection, NULL, &error,
                                              "{'execute': 'qom-get',"
                                              " 'arguments': {'path': %s, 'property': %s}}",
                                              argv[2], argv[3]);
  if (value == NULL)
    {
      g_printerr ("qom-get: %s\n", error->message);
      return 1;
    }

  text = json_to_string (value, FALSE);
  g_print ("%s\n", text);

  return 0;
}
