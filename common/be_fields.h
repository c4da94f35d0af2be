/* Big-endian fields of CDBs and SCSI data, by libsgutils2's
 * <scsi/sg_unaligned.h>. Its portable loads shift a byte of 0x80 or more
 * into int's sign bit (undefined behaviour, which the sanitizer build
 * stops on); HAVE_BYTESWAP_H selects its memcpy + bswap path instead.
 * Include this, never the library header directly. */
#ifndef VSCSI_BE_FIELDS_H
#define VSCSI_BE_FIELDS_H

#ifndef HAVE_BYTESWAP_H
#define HAVE_BYTESWAP_H 1
#endif
#include <scsi/sg_unaligned.h>

#endif
